import type { Argv } from 'yargs';
import { agpuFlag } from '../jobs/job-request';
import { action } from '../shared/command';
import type { Io } from '../shared/context';
import { agpu, printable } from '../shared/output';

export function faucetCommand(io: Io) {
  return {
    command: 'faucet <amount>',
    describe: "dev mode only: mint AGPU to your org's account",
    builder: (y: Argv) =>
      y
        .positional('amount', { type: 'string', demandOption: true, describe: 'AGPU to mint, e.g. 1000' })
        .option('idempotency-key', { type: 'string', describe: 'a retry with the same key mints nothing more' })
        .example('$0 faucet 1000', ''),
    handler: action(io, async (argv: { amount: string; idempotencyKey?: string }, ctx) => {
      const amountWei = agpuFlag('amount', String(argv.amount));
      const mint = await ctx.client().faucet({ amountWei, ...(argv.idempotencyKey ? { idempotencyKey: argv.idempotencyKey } : {}), signal: ctx.signal });
      ctx.print(mint, (m) => `minted ${agpu(amountWei)}: balance ${agpu(m.balanceWei)} (tx ${printable(m.txHash)})`);
    }),
  };
}
