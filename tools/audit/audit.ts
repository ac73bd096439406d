import yargs, { type Argv } from 'yargs';
import { AuditSourceError, AuditUsageError, parseAddresses, type AuditConfig } from './shared/config';
import { AUDIT_EXIT, auditJson, summaryLine, type AuditOutcome } from './shared/outcome';
import { AuditRun, type AuditCommand } from './shared/run';
import { replayCommand } from './replay/replay.command';
import { matchingCommand } from './matching/matching.command';
import { chainCommand } from './chain/chain.command';
import { anchorsCommand } from './anchors/anchors.command';
import { proveCommand } from './anchors/prove.command';
import { reportCommand } from './report/report.command';

/** Every audit command, in the order `--help` lists them. */
export const AUDIT_COMMANDS: readonly AuditCommand<never>[] = [
  replayCommand,
  matchingCommand,
  chainCommand,
  anchorsCommand,
  proveCommand,
  reportCommand,
];

const EPILOGUE = [
  'Sources: --nats (NATS_URL) with read access to the stream; --rpc (RPC_URL) and --addresses (MARKET_ADDRESSES) for the',
  'commands that read the chain; --database (a Postgres URL) for scratch schemas, else a fresh database on 127.0.0.1:5432,',
  'else an embedded Postgres. Nothing is written to the log or the chain.',
  '',
  'Output: progress on stderr; one JSON summary line on stdout ({"audit":<command>,"ok":...}).',
  'Exit codes: 0 every check passed; 1 a check failed (firstDifference names it); 2 usage; 3 a source could not be read.',
].join('\n');

export interface AuditIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly env: Record<string, string | undefined>;
}

/** Runs one audit command line; answers the exit code (never exits the process itself). */
export async function runAudit(args: readonly string[], io: AuditIo): Promise<number> {
  let exitCode: number = AUDIT_EXIT.ok;
  let parser: Argv = yargs([...args])
    .scriptName('audit')
    .usage('npm run audit -- <command> [options]\n\nThe auditor\'s tools: replay the trade log, re-run the matching, reconcile the chain, prove events, report.')
    .option('nats', { type: 'string', global: true, describe: 'NATS URL with read access to the stream', default: io.env.NATS_URL ?? 'nats://127.0.0.1:4222', defaultDescription: 'NATS_URL, else nats://127.0.0.1:4222' })
    .option('stream', { type: 'string', global: true, describe: 'the trade log stream', default: io.env.TRADE_STREAM ?? 'TRADE', defaultDescription: 'TRADE_STREAM, else TRADE' })
    .option('prefix', { type: 'string', global: true, describe: "the log's subject prefix", default: io.env.TRADE_SUBJECT_PREFIX ?? 'trade', defaultDescription: 'TRADE_SUBJECT_PREFIX, else trade' })
    .option('rpc', { type: 'string', global: true, describe: 'the chain RPC URL', default: io.env.RPC_URL, defaultDescription: 'RPC_URL' })
    .option('chain-id', { type: 'number', global: true, describe: "the chain's id", default: io.env.CHAIN_ID ? Number(io.env.CHAIN_ID) : 31337, defaultDescription: 'CHAIN_ID, else 31337' })
    .option('addresses', { type: 'string', global: true, describe: "the market's contract addresses: JSON, or @file", default: io.env.MARKET_ADDRESSES, defaultDescription: 'MARKET_ADDRESSES' })
    .option('database', { type: 'string', global: true, describe: 'a Postgres URL for scratch schemas', default: io.env.AUDIT_DATABASE_URL, defaultDescription: 'AUDIT_DATABASE_URL, else a fresh database' })
    .option('json', { type: 'boolean', global: true, describe: 'plain progress lines, differences as JSON lines on stderr', default: false });
  for (const c of AUDIT_COMMANDS) {
    parser = parser.command(c.command, c.describe, (y) => c.options(y), async (argv) => {
      exitCode = await runOne(c as AuditCommand<unknown>, argv as unknown as Record<string, unknown>, io);
    });
  }
  try {
    await parser
      .demandCommand(1, 'name a command (--help lists them)')
      .strict()
      .help()
      .epilogue(EPILOGUE)
      .wrap(Math.min(110, (io.stderr.columns ?? 0) || 100))
      .exitProcess(false)
      .fail((message, err) => {
        throw err ?? new AuditUsageError(message);
      })
      .parseAsync();
    return exitCode;
  } catch (err) {
    io.stderr.write(`audit: ${(err as Error).message}\n`);
    return err instanceof AuditUsageError ? AUDIT_EXIT.usage : AUDIT_EXIT.unreachable;
  }
}

async function runOne(command: AuditCommand<unknown>, argv: Record<string, unknown>, io: AuditIo): Promise<number> {
  const name = command.command.split(' ')[0]!;
  let run: AuditRun | undefined;
  const startedMs = Date.now();
  try {
    const cfg: AuditConfig = {
      natsUrl: String(argv.nats),
      stream: String(argv.stream),
      subjectPrefix: String(argv.prefix),
      rpcUrl: argv.rpc as string | undefined,
      chainId: argv['chain-id'] as number | undefined,
      addresses: parseAddresses(argv.addresses as string | undefined),
      databaseUrl: argv.database as string | undefined,
      json: Boolean(argv.json),
    };
    run = new AuditRun(cfg, io.stderr);
    const outcome = await command.run(run, argv);
    report(outcome, io, cfg.json, Date.now() - startedMs);
    return outcome.ok ? AUDIT_EXIT.ok : AUDIT_EXIT.failed;
  } catch (err) {
    const code = err instanceof AuditUsageError ? AUDIT_EXIT.usage : AUDIT_EXIT.unreachable;
    const why = err instanceof AuditUsageError || err instanceof AuditSourceError ? (err as Error).message : `${(err as Error).stack ?? String(err)}`;
    io.stderr.write(`audit ${name}: ${why}\n`);
    io.stdout.write(`${auditJson({ audit: name, ok: false, error: (err as Error).message, exitCode: code })}\n`);
    return code;
  } finally {
    await run?.close();
  }
}

/** The differences on stderr (lines, or JSON lines with --json), then the one summary line on stdout. */
function report(o: AuditOutcome, io: AuditIo, json: boolean, elapsedMs: number): void {
  for (const d of o.differences ?? []) {
    if (json) io.stderr.write(`${auditJson({ difference: d })}\n`);
    else io.stderr.write(`DIFFERENCE ${d.subject}: ${d.message}${d.expected !== undefined ? `\n  expected: ${auditJson(d.expected)}\n  actual:   ${auditJson(d.actual)}` : ''}\n`);
  }
  if (!json) io.stderr.write(o.ok ? `audit ${o.command}: every check passed\n` : `audit ${o.command}: FAILED: ${o.firstDifference ?? 'see the differences above'}\n`);
  io.stdout.write(`${summaryLine({ ...o, figures: { ...o.figures, seconds: Number((elapsedMs / 1000).toFixed(2)) } })}\n`);
}
