import type { Argv } from 'yargs';
import { action } from '../shared/command';
import { ENV } from '../shared/config-file';
import type { Io } from '../shared/context';
import { UsageError } from '../shared/errors';
import { fields } from '../shared/output';
import { secretOnArgvWarning } from '../login/login.command';

export function orgsCommand(io: Io) {
  return {
    command: 'orgs',
    describe: "operator: create orgs (the operator's first step for a new requester)",
    builder: (y: Argv) =>
      y
        .command(
          'create <name>',
          'create an org: prints its API key (shown once) and its on-chain account',
          (b) =>
            b
              .positional('name', { type: 'string', demandOption: true, describe: "the org's name" })
              .option('operator-token', { type: 'string', describe: `the operator token, for scripts: on the command line it shows in ps and the shell history, so prefer ${ENV.operatorToken}` })
              .example(`${ENV.operatorToken}="$OP" $0 orgs create Acme --json`, ''),
          action(io, async (argv, ctx) => {
            if (argv.operatorToken !== undefined) ctx.note(secretOnArgvWarning('--operator-token', 'operator token', `set ${ENV.operatorToken} instead (${ENV.operatorToken}="$OP" starminer orgs create ...)`));
            const operatorToken = argv.operatorToken ?? io.env[ENV.operatorToken];
            if (!operatorToken) throw new UsageError('MISSING_FLAG', `set ${ENV.operatorToken} to the operator token (or pass --operator-token)`);
            const org = await ctx.client({ needsKey: false }).createOrg({ operatorToken, name: argv.name, signal: ctx.signal });
            ctx.print(org, (o) =>
              `${fields([
                ['org', `${o.name} (${o.orgId})`],
                ['account', o.accountAddress],
                ['api key', o.apiKey],
              ])}\n\nthe key is shown once: hand it to the org, which runs \`starminer login\` with it`,
            );
          }),
        )
        .demandCommand(1, 'name an orgs command: create'),
    handler: () => undefined,
  };
}
