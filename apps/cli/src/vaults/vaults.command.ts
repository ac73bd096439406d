import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { parseAgpu, type CreateVaultRequest, type VaultInput } from '@starminer/sdk';
import { jobFromArgs, jobOptions } from '../jobs/jobs.command';
import { action, allRowsLimit, listOptions, PAGE_SIZE_MAX, pageLimit, readAll, take } from '../shared/command';
import type { Io } from '../shared/context';
import { UsageError } from '../shared/errors';
import { firedText, vaultCreatedText, vaultDetails, vaultTable } from './vault-format';

const VAULT_GROUP = 'The vault (--vault-file, or the flags; the job it fires is the job flags):';
/** The environment variable `vaults fire` reads the trigger secret from when --secret is not given (a secret in argv shows in `ps`). */
export const VAULT_SECRET_ENV = 'STARMINER_VAULT_TRIGGER_SECRET';

interface VaultFlags {
  vaultFile?: string;
  deposit?: string;
  cap?: string;
  period?: number;
  cron?: string[];
  tz?: string;
  urlTrigger?: boolean;
}

const amountWei = (flag: string, value: string | undefined): string => {
  if (value === undefined) throw new UsageError('MISSING_FLAG', `${flag} is required (AGPU, e.g. 50 or 0.25)`);
  try {
    return parseAgpu(value).toString();
  } catch (err) {
    throw new UsageError('BAD_FLAG', `${flag}: ${(err as Error).message}`);
  }
};

/** The vault of a `vaults create`: the whole body from --vault-file, else the flags with the job flags as its template. */
async function vaultFromArgs(argv: VaultFlags & Parameters<typeof jobFromArgs>[0], io: Io): Promise<VaultInput> {
  if (argv.vaultFile !== undefined) {
    let text: string;
    try {
      text = argv.vaultFile === '-' ? await readAll(io.stdin, 'the vault') : readFileSync(argv.vaultFile, 'utf8');
    } catch (err) {
      throw new UsageError('BAD_FILE', `cannot read ${argv.vaultFile}: ${(err as Error).message}`);
    }
    try {
      return JSON.parse(text) as CreateVaultRequest;
    } catch (err) {
      throw new UsageError('BAD_FILE', `${argv.vaultFile} is not JSON: ${(err as Error).message}`);
    }
  }
  if (argv.period === undefined) throw new UsageError('MISSING_FLAG', '--period is required (seconds of one cap period, e.g. 86400)');
  const triggers: VaultInput['triggers'][number][] = (argv.cron ?? []).map((expression, i) => ({ triggerId: `cron-${i + 1}`, kind: 'cron' as const, expression, timeZone: argv.tz ?? 'UTC' }));
  if (argv.urlTrigger) triggers.push({ triggerId: 'url', kind: 'url' });
  if (triggers.length === 0) throw new UsageError('MISSING_FLAG', 'a vault needs a trigger: --cron "<expression>" (with --tz), or --url-trigger');
  return { depositWei: amountWei('--deposit', argv.deposit), capPerPeriodWei: amountWei('--cap', argv.cap), periodSec: argv.period, template: await jobFromArgs(argv, io), triggers };
}

const vaultIdArg = <T>(y: Argv<T>) => y.positional('vaultId', { type: 'string', demandOption: true, describe: 'the vault id' });
const keyOption = <T>(y: Argv<T>) => y.option('idempotency-key', { type: 'string', describe: 'a retry with the same key gets the first answer again' });

export function vaultsCommand(io: Io) {
  return {
    command: 'vaults',
    describe: 'compute vaults: a deposit, a cap per period and a job that fires on a schedule, a price or a signed URL',
    builder: (y: Argv) =>
      y
        .command(
          'create',
          'create a vault; prints it, and the secret of its trigger URL once',
          (b) =>
            keyOption(
              jobOptions(b)
                .option('vault-file', { type: 'string', describe: 'the whole vault as JSON, as POST /v1/vaults takes it (- for stdin), instead of the flags', group: VAULT_GROUP })
                .option('deposit', { type: 'string', describe: "AGPU from the org's account into the vault", group: VAULT_GROUP })
                .option('cap', { type: 'string', describe: 'the most its jobs may draw in one period, AGPU', group: VAULT_GROUP })
                .option('period', { type: 'number', describe: 'seconds of one period (periods run back to back from its creation)', group: VAULT_GROUP })
                .option('cron', { type: 'string', array: true, describe: 'a cron schedule that fires it (5 fields, at most once a minute), once per expression', group: VAULT_GROUP })
                .option('tz', { type: 'string', describe: 'the IANA time zone of the --cron schedules (default UTC)', group: VAULT_GROUP })
                .option('url-trigger', { type: 'boolean', describe: 'add a signed trigger URL (trigger id `url`)', group: VAULT_GROUP }),
            ).example('$0 vaults create --deposit 100 --cap 20 --period 86400 --cron "0 2 * * *" --tz Europe/Berlin --category inference --budget 10 --runtime 60', ''),
          action(io, async (argv, ctx) => {
            const vault = await vaultFromArgs(argv, io);
            const created = await ctx.client().createVault({ vault, ...(argv.idempotencyKey ? { idempotencyKey: argv.idempotencyKey } : {}), signal: ctx.signal });
            ctx.print(created, vaultCreatedText);
          }),
        )
        .command(
          'list',
          "the org's vaults, oldest first",
          (b) => listOptions(b, 'vaults'),
          action(io, async (argv, ctx) => {
            const client = ctx.client();
            if (argv.all) {
              const max = allRowsLimit(argv.limit);
              const pages = async function* () {
                let cursor: string | undefined;
                do {
                  const page = await client.listVaults({ limit: Math.min(max, PAGE_SIZE_MAX), cursor, signal: ctx.signal });
                  yield* page.vaults;
                  cursor = page.nextCursor ?? undefined;
                } while (cursor);
              };
              const { items, more } = await take(pages(), max);
              ctx.print({ vaults: items, more }, (r) => vaultTable(r.vaults));
              if (more) ctx.note(`(stopped at ${items.length}: --limit to list more)`);
              return;
            }
            const page = await client.listVaults({ limit: pageLimit(argv.limit), cursor: argv.cursor, signal: ctx.signal });
            ctx.print(page, (p) => vaultTable(p.vaults));
            if (page.nextCursor) ctx.moreNote('starminer vaults list', page.nextCursor);
          }),
        )
        .command(
          'get <vaultId>',
          'one vault: balance, the period, template, triggers and its newest firings with their jobs',
          vaultIdArg,
          action(io, async (argv, ctx) => {
            ctx.print(await ctx.client().getVault({ vaultId: argv.vaultId, signal: ctx.signal }), vaultDetails);
          }),
        )
        .command(...changeCommand(io, 'pause', 'nothing fires until it is resumed', 'pauseVault'))
        .command(...changeCommand(io, 'resume', 'resume a paused vault', 'resumeVault'))
        .command(...changeCommand(io, 'close', "close it for good; the remainder goes back to the org's account", 'closeVault'))
        .command(
          'fire <vaultId> <triggerId>',
          `call a vault's trigger URL, signed with its secret (--secret, else $${VAULT_SECRET_ENV}); the key names the firing`,
          (b) =>
            vaultIdArg(b)
              .positional('triggerId', { type: 'string', demandOption: true, describe: "the URL trigger's id" })
              .option('secret', { type: 'string', describe: `the vault's trigger secret (prefer $${VAULT_SECRET_ENV}: argv shows in ps)` })
              .option('idempotency-key', { type: 'string', describe: 'names the firing: the same key again answers the same firing and job' }),
          action(io, async (argv, ctx) => {
            const secret = argv.secret ?? io.env[VAULT_SECRET_ENV];
            if (!secret) throw new UsageError('MISSING_FLAG', `the trigger secret: --secret, or $${VAULT_SECRET_ENV}`);
            const fired = await ctx.client().fireVaultTrigger({
              vaultId: argv.vaultId,
              triggerId: argv.triggerId,
              secret,
              ...(argv.idempotencyKey ? { idempotencyKey: argv.idempotencyKey } : {}),
              signal: ctx.signal,
            });
            ctx.print(fired, firedText);
          }),
        )
        .demandCommand(1, 'name a vaults command: create, list, get, pause, resume, close, fire'),
    handler: () => undefined,
  };
}

/** `vaults pause|resume|close <vaultId>`: the vault as it is after. */
function changeCommand(io: Io, verb: string, describe: string, call: 'pauseVault' | 'resumeVault' | 'closeVault') {
  return [
    `${verb} <vaultId>`,
    describe,
    (b: Argv) => keyOption(vaultIdArg(b)),
    action<{ vaultId: string; idempotencyKey?: string }>(io, async (argv, ctx) => {
      const vault = await ctx.client()[call]({ vaultId: argv.vaultId, ...(argv.idempotencyKey ? { idempotencyKey: argv.idempotencyKey } : {}), signal: ctx.signal });
      ctx.print(vault, vaultDetails);
    }),
  ] as const;
}
