import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { action, allRowsLimit, listOptions, PAGE_SIZE_MAX, pageLimit, readAll, take } from '../shared/command';
import type { Client, Ctx, Io } from '../shared/context';
import { UsageError } from '../shared/errors';
import { printable, toJson } from '../shared/output';
import { followJob, outcomeOf, sinceSeq, waitTimeoutMs } from './follow';
import { historyTable, jobDetails, jobTable, topUpDetails, updateLine, waitText } from './job-format';
import { CATEGORIES, JOB_DEFAULTS, jobRequestFromFile, jobRequestFromFlags, LATENCY_PREFERENCES, URGENCIES, WORKLOAD_KINDS, type JobFlags, type JobRequest } from './job-request';

const JOB_GROUP = 'The job (--file, or the flags):';

/** The flags that describe a job, shared by `jobs submit` and `quote`. */
export function jobOptions<T>(y: Argv<T>) {
  return y
    .option('file', { type: 'string', describe: 'the whole job as JSON, as POST /v1/jobs takes it (- for stdin), instead of the flags', group: JOB_GROUP })
    .option('category', { type: 'string', choices: CATEGORIES, describe: 'the queue', group: JOB_GROUP })
    .option('budget', { type: 'string', describe: 'the most it may cost, in AGPU (e.g. 50 or 0.25)', group: JOB_GROUP })
    .option('budget-wei', { type: 'string', describe: 'the budget in base units instead (10^18 per AGPU)', group: JOB_GROUP })
    .option('runtime', { type: 'number', describe: 'expected runtime, seconds', group: JOB_GROUP })
    .option('gpu', { type: 'string', array: true, describe: 'GPU models it may run on (any when none): --gpu H100,A100', group: JOB_GROUP })
    .option('gpus', { type: 'number', describe: `GPUs on one node (0: the engine picks; default ${JOB_DEFAULTS.gpuCount})`, group: JOB_GROUP })
    .option('vram', { type: 'number', describe: 'at least this much VRAM per GPU, GiB', group: JOB_GROUP })
    .option('region', { type: 'string', array: true, describe: 'regions it may run in (any when none): --region eu-west,us-east', group: JOB_GROUP })
    .option('tee', { type: 'boolean', describe: 'only nodes with a trusted execution environment', group: JOB_GROUP })
    .option('max-latency', { type: 'number', describe: "the node's latency at most, ms", group: JOB_GROUP })
    .option('urgency', { type: 'string', choices: URGENCIES, describe: `how soon (sets the price tier; default ${JOB_DEFAULTS.urgency})`, group: JOB_GROUP })
    .option('latency', { type: 'string', choices: LATENCY_PREFERENCES, describe: `latency preference (default ${JOB_DEFAULTS.latencyPreference})`, group: JOB_GROUP })
    .option('deadline', { type: 'number', describe: 'seconds after the contract opens by which the result must be in (else refund)', group: JOB_GROUP })
    .option('green', { type: 'boolean', describe: 'prefer low-carbon nodes', group: JOB_GROUP })
    .option('workload', { type: 'string', choices: WORKLOAD_KINDS, describe: `what runs (default ${JOB_DEFAULTS.workload})`, group: JOB_GROUP })
    .option('seed', { type: 'string', describe: 'hash-chain/matmul seed (default: a new random one; with --idempotency-key, one from the key)', group: JOB_GROUP })
    .option('iterations', { type: 'number', describe: `hash-chain length (default ${JOB_DEFAULTS.hashChainIterations})`, group: JOB_GROUP })
    .option('size', { type: 'number', describe: `matmul matrix size (default ${JOB_DEFAULTS.matmulSize})`, group: JOB_GROUP })
    .option('command', { type: 'string', array: true, describe: 'command workload: the program and its arguments', group: JOB_GROUP })
    .option('image', { type: 'string', describe: 'command workload: the container image', group: JOB_GROUP })
    .option('network', { type: 'boolean', describe: 'with --image: give the container a network (default: none)', group: JOB_GROUP })
    .option('copies', { type: 'number', describe: 'redundancy: run on this many distinct nodes of one GPU model (2-5; each copy pays its budget), results compared; the majority is paid', group: JOB_GROUP })
    .option('tolerance', { type: 'string', describe: 'with --copies: compare outputs as JSON arrays of numbers within ABS[,REL] (default: exact)', group: JOB_GROUP });
}

/**
 * The job of a `jobs submit` or `quote` invocation: from --file, else from the flags. Without
 * --seed the seed is new each time, except under an idempotency key: it is then the key's, so the
 * same command line run again is the same body, and the gateway answers the first job again
 * rather than IDEMPOTENCY_KEY_REUSED.
 */
export async function jobFromArgs(argv: JobFlags & { file?: string; idempotencyKey?: string }, io: Io): Promise<JobRequest> {
  const key = argv.idempotencyKey;
  if (argv.file === undefined) return jobRequestFromFlags(argv, () => (key === undefined ? `cli-${randomUUID()}` : `cli-${key}`));
  if (argv.file === '-') return jobRequestFromFile(await readAll(io.stdin, 'the job'), 'stdin', argv);
  let text: string;
  try {
    text = readFileSync(argv.file, 'utf8');
  } catch (err) {
    throw new UsageError('BAD_FILE', `cannot read ${argv.file}: ${(err as Error).message}`);
  }
  return jobRequestFromFile(text, argv.file, argv);
}

const jobIdArg = <T>(y: Argv<T>) => y.positional('jobId', { type: 'string', demandOption: true, describe: 'the job id' });

export function jobsCommand(io: Io) {
  return {
    command: 'jobs',
    describe: 'submit, list, follow, cancel and top up jobs',
    builder: (y: Argv) =>
      y
        .command(
          'submit',
          'submit a job; prints its id (--wait: follows it to the end)',
          (b) =>
            jobOptions(b)
              .option('idempotency-key', { type: 'string', describe: 'a retry with the same key gets the first answer again, never a second job' })
              .option('wait', { type: 'boolean', describe: 'follow the job until it ends; exit 0 only when it settles' })
              .option('timeout', { type: 'number', describe: 'with --wait: give up after this many seconds (exit 5)' })
              .example('$0 jobs submit --category inference --budget 50 --gpu H100 --vram 8 --region eu-west --runtime 60 --wait', '')
              .example('$0 jobs submit --file job.json --idempotency-key nightly-42', ''),
          action(io, async (argv, ctx) => {
            const job = await jobFromArgs(argv, io);
            const timeoutMs = argv.wait ? waitTimeoutMs(argv.timeout) : 0;
            const client = ctx.client();
            const accepted = await client.submitJob({ job, ...(argv.idempotencyKey ? { idempotencyKey: argv.idempotencyKey } : {}), signal: ctx.signal });
            if (!argv.wait) return ctx.print(accepted, (a) => printable(a.jobId));
            await waitAndShow(ctx, client, accepted.jobId, timeoutMs);
          }),
        )
        .command(
          'list',
          "the org's jobs, oldest first",
          (b) => listOptions(b, 'jobs'),
          action(io, async (argv, ctx) => {
            const client = ctx.client();
            if (argv.all) {
              const max = allRowsLimit(argv.limit);
              const { items, more } = await take(client.jobs({ pageSize: Math.min(max, PAGE_SIZE_MAX), signal: ctx.signal }), max);
              ctx.print({ jobs: items, more }, (r) => jobTable(r.jobs));
              if (more) ctx.note(`(stopped at ${items.length}: --limit to list more)`);
              return;
            }
            const page = await client.listJobs({ limit: pageLimit(argv.limit), cursor: argv.cursor, signal: ctx.signal });
            ctx.print(page, (p) => jobTable(p.jobs));
            if (page.nextCursor) ctx.moreNote('starminer jobs list', page.nextCursor);
          }),
        )
        .command(
          'get <jobId>',
          'one job: status, node, price, contract, transactions, result',
          jobIdArg,
          action(io, async (argv, ctx) => {
            const job = await ctx.client().getJob({ jobId: argv.jobId, signal: ctx.signal });
            ctx.print(job, jobDetails);
          }),
        )
        .command(
          'watch <jobId>',
          'live updates, one line each, until the job ends; exit 0 when it settles, 4 when it ends otherwise',
          (b) =>
            jobIdArg(b)
              .option('since', { type: 'string', describe: 'only updates after this seq (the first column of `jobs history`)' })
              .option('timeout', { type: 'number', describe: 'give up after this many seconds (exit 5)' }),
          action(io, async (argv, ctx) => {
            const since = sinceSeq(argv.since);
            const timeoutMs = waitTimeoutMs(argv.timeout);
            const client = ctx.client();
            let failure: { code: string; reason: string } | undefined;
            const end = await followJob(ctx, client, {
              jobId: argv.jobId,
              ...(since === undefined ? {} : { lastEventId: since }),
              timeoutMs,
              onUpdate: (u) => {
                if (u.failure) failure = u.failure;
                // --json: one JSON object per line (NDJSON), so a pipe can act on each as it comes
                ctx.out(ctx.json ? toJson(u, { compact: true }) : updateLine(u));
              },
            });
            outcomeOf(argv.jobId, end.status, failure);
          }),
        )
        .command(
          'cancel <jobId>',
          'cancel a job that is still queued',
          jobIdArg,
          action(io, async (argv, ctx) => {
            const answer = await ctx.client().cancelJob({ jobId: argv.jobId, signal: ctx.signal });
            ctx.print(answer, (a) => printable(`job ${a.jobId} ${a.status}`));
          }),
        )
        .command(
          'top-up <jobId>',
          "more time before a running job's deadline: its escrow grows by the match's price for --extra, paid by the org",
          (b) =>
            jobIdArg(b)
              .option('extra', { type: 'number', demandOption: true, describe: 'seconds to add to the deadline (at most 7 days a top-up, 30 days and 32 top-ups a job)' })
              .option('idempotency-key', { type: 'string', describe: 'a retry with the same key answers the same top-up and pays nothing more' })
              .example('$0 jobs top-up 0190f5a3-1b2c-7d4e-8f90-a1b2c3d4e5f6 --extra 1800', ''),
          action(io, async (argv, ctx) => {
            if (!Number.isInteger(argv.extra) || argv.extra < 1) throw new UsageError('BAD_EXTRA', `--extra must be a whole number of seconds, at least 1 (got ${argv.extra})`);
            const answer = await ctx.client().topUpJob({ jobId: argv.jobId, extraRuntimeSec: argv.extra, ...(argv.idempotencyKey ? { idempotencyKey: argv.idempotencyKey } : {}), signal: ctx.signal });
            ctx.print(answer, topUpDetails);
          }),
        )
        .command(
          'history <jobId>',
          "the job's updates so far",
          jobIdArg,
          action(io, async (argv, ctx) => {
            const updates = await ctx.client().getJobHistory({ jobId: argv.jobId, signal: ctx.signal });
            ctx.print(updates, historyTable);
          }),
        )
        .demandCommand(1, 'name a jobs command: submit, list, get, watch, cancel, top-up, history'),
    handler: () => undefined,
  };
}

/** `jobs submit --wait`: a spinner (or lines) on stderr while the job moves, the job at its end on stdout. */
async function waitAndShow(ctx: Ctx, client: Client, jobId: string, timeoutMs: number): Promise<void> {
  const progress = ctx.progress(waitText(jobId, { status: 'queued', type: 'job.queued' }));
  try {
    await followJob(ctx, client, { jobId, timeoutMs, onUpdate: (u) => progress.update(waitText(jobId, u)) });
  } catch (err) {
    progress.fail(`job ${jobId}: stopped waiting`);
    throw err;
  }
  const job = await client.getJob({ jobId, signal: ctx.signal });
  if (job.status === 'settled') progress.succeed(`job ${jobId}: settled`);
  else progress.fail(`job ${jobId}: ${job.status}`);
  ctx.print(job, jobDetails);
  outcomeOf(jobId, job.status, job.failure);
}
