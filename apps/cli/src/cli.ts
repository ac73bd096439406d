import yargs from 'yargs';
import { auditCommand, runAuditTool } from './audit/audit.command';
import { faucetCommand } from './faucet/faucet.command';
import { jobsCommand } from './jobs/jobs.command';
import { vaultsCommand } from './vaults/vaults.command';
import { loginCommand, logoutCommand, whoamiCommand } from './login/login.command';
import { marketCommand } from './market/market.command';
import { nodesCommand } from './nodes/nodes.command';
import { orgsCommand } from './orgs/orgs.command';
import { providerCommand } from './provider/provider.command';
import { quoteCommand } from './quote/quote.command';
import { ENV, GATEWAY_DEFAULT } from './shared/config-file';
import { VERSION, type Io } from './shared/context';
import { errorLines, EXIT, reportOf, UsageError } from './shared/errors';
import { toJson } from './shared/output';

const EPILOGUE = [
  `The gateway: --gateway, else ${ENV.gateway}, else the config file (starminer login), else ${GATEWAY_DEFAULT}.`,
  `The API key: ${ENV.apiKey}, else the config file ($XDG_CONFIG_HOME/starminer/config.json, else ~/.config/starminer/config.json).`,
  '',
  'Exit codes:',
  '  0    done',
  '  1    the gateway refused the request (its code and message on stderr)',
  '  2    a usage, file or configuration error: nothing was sent',
  '  3    the gateway could not be reached, timed out or failed (5xx)',
  '  4    the job ended without settling (refunded, failed, cancelled)',
  '  5    a wait timed out',
  '  130  interrupted',
].join('\n');

/** The terminal width help wraps at, at most. */
const HELP_WIDTH_MAX = 110;

/** Runs one `starminer` command line; answers the exit code (never exits the process itself). */
export async function runCli(args: readonly string[], io: Io): Promise<number> {
  const json = args.includes('--json');
  // the auditor's kit takes its own options (and its own --help): everything after `audit` is the audit tool's
  let auditExit: number | undefined;
  if (args[0] === 'audit') return runAuditTool(args.slice(1), io).catch((err: unknown) => reportFailure(err, json, io));
  const parser = yargs([...args])
    .scriptName('starminer')
    .usage('$0 <command> [options]\n\nThe StarMiner command line: jobs, quotes, the market, node search, providers, and the auditor\'s kit.')
    .option('gateway', { type: 'string', global: true, describe: `the gateway URL (default: ${ENV.gateway}, the config file, ${GATEWAY_DEFAULT})` })
    .option('json', { type: 'boolean', global: true, describe: "print the API's answer as JSON (errors as JSON on stderr)" })
    .command(loginCommand(io))
    .command(logoutCommand(io))
    .command(whoamiCommand(io))
    .command(orgsCommand(io))
    .command(faucetCommand(io))
    .command(jobsCommand(io))
    .command(vaultsCommand(io))
    .command(quoteCommand(io))
    .command(marketCommand(io))
    .command(nodesCommand(io))
    .command(providerCommand(io))
    .command(auditCommand(io, args, (code) => (auditExit = code)))
    .completion('completion', 'print the bash/zsh completion script: starminer completion >> ~/.bashrc (or ~/.zshrc)')
    .demandCommand(1, 'name a command (starminer --help lists them)')
    .recommendCommands()
    .strict()
    .help()
    .alias('h', 'help')
    .version(VERSION)
    .epilogue(EPILOGUE)
    .wrap(Math.min(HELP_WIDTH_MAX, process.stdout.columns || 80))
    .exitProcess(false)
    .fail((message, err) => {
      // a handler's error or yargs' own usage message: both go to the one report below
      throw err ?? new UsageError('USAGE', `${message} (starminer --help, or --help after the command, says what it takes)`);
    });
  try {
    await parser.parseAsync();
    return auditExit ?? EXIT.ok;
  } catch (err) {
    return reportFailure(err, json, io);
  }
}

/** The one report of a failed command on stderr (JSON with --json); answers its exit code. */
function reportFailure(err: unknown, json: boolean, io: Io): number {
  const report = reportOf(err);
  if (json) {
    const { exitCode: _exit, ...body } = report;
    io.stderr.write(`${toJson({ error: body }, { compact: true })}\n`);
  } else {
    io.stderr.write(`${errorLines(report).join('\n')}\n`);
  }
  return report.exitCode;
}
