/**
 * `npm run bench:e2e -- --jobs N [--concurrency C] [--iterations I] [--keep]`
 *
 * Starts the whole stack in a temporary directory (own nats-server and anvil on free ports, a fresh
 * database on DATABASE_URL / the local server / embedded Postgres), pushes N jobs through the whole
 * lifecycle (HTTP submit -> queued -> matched -> contract on chain -> a demo agent runs it -> result
 * -> release on chain -> settled) and prints jobs/s and submit->matched, submit->settled p50/p99.
 * The last line is one JSON object with those figures.
 *
 * Timing: submit time is taken just before the POST; matched and settled are when a poll of
 * GET /v1/jobs (every POLL_INTERVAL_MS) first sees the job past `queued` / at `settled`, so both
 * latencies carry up to one poll interval plus a page read of error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import { createClient, type Job, type StarMinerClient, type SubmitJobRequest } from '@starminer/sdk';
import { createTestDatabase, freePort } from '@starminer/testing';
import { numberOption } from '../cli-options';
import { startStack, type Stack } from '../stack/stack';

const POLL_INTERVAL_MS = 100;
const PAGE_SIZE = 100;
/** The run gives up when the jobs are not all final after this long per job (at least RUN_TIMEOUT_MS_MIN). */
const RUN_TIMEOUT_MS_PER_JOB = 2_000;
const RUN_TIMEOUT_MS_MIN = 180_000;
const NODES_ONLINE_TIMEOUT_MS = 120_000;
const JOBS_MAX = 10_000;

interface Tracked {
  jobId: string;
  submittedAt: number;
  matchedAt?: number;
  finalAt?: number;
  finalStatus?: string;
}

function args() {
  const { values } = parseArgs({
    options: {
      jobs: { type: 'string' },
      concurrency: { type: 'string' },
      iterations: { type: 'string' },
      keep: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
  });
  const jobs = numberOption(values, 'jobs', 50, { min: 1, max: JOBS_MAX });
  const concurrency = numberOption(values, 'concurrency', 8, { min: 1, max: 256 });
  const iterations = numberOption(values, 'iterations', 1000, { min: 1, max: Number.MAX_SAFE_INTEGER });
  return { jobs, concurrency, iterations, keep: values.keep === true, verbose: values.verbose === true };
}

const spec = (i: number, iterations: number): SubmitJobRequest => ({
  category: (['inference', 'ai-training', 'rendering', 'simulation'] as const)[i % 4],
  budgetWei: (10n * 10n ** 18n).toString(),
  urgency: 'normal',
  latencyPreference: 'normal',
  requirements: { gpuModels: [], gpuCount: 1, minVramGiB: 0, tee: false, regions: [] },
  expectedRuntimeSec: 30,
  workload: { kind: 'hash-chain', seed: `bench-${i}`, iterations },
});

const histogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3 });

async function allJobs(client: StarMinerClient): Promise<Job[]> {
  const out: Job[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await client.listJobs({ limit: PAGE_SIZE, cursor });
    out.push(...page.jobs);
    if (!page.nextCursor) return out;
    cursor = page.nextCursor;
  }
}

async function main(): Promise<void> {
  const opts = args();
  const dataDir = mkdtempSync(join(tmpdir(), 'starminer-bench-'));
  const db = await createTestDatabase();
  let stack: Stack | undefined;
  try {
    const t0 = Date.now();
    stack = await startStack({
      dataDir,
      databaseUrl: db.url,
      ports: { nats: await freePort(), postgres: await freePort(), anvil: await freePort(), gateway: await freePort() },
      log: opts.verbose ? (line) => console.log(line) : (line) => (line.startsWith('[stack]') ? console.log(line) : undefined),
    });
    console.log(`stack up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const client = createClient({ baseUrl: stack.gatewayUrl, apiKey: stack.demoApiKey });
    const online = Date.now() + NODES_ONLINE_TIMEOUT_MS;
    while ((await client.listNodes()).nodes.filter((n) => n.online === true).length < 2) {
      if (Date.now() > online) throw new Error('the demo nodes did not come online');
      await new Promise((r) => setTimeout(r, 250));
    }

    const tracked = new Map<string, Tracked>();
    let next = 0;
    const started = Date.now();
    const submitter = async (): Promise<void> => {
      while (next < opts.jobs) {
        const i = next++;
        const submittedAt = Date.now();
        const { jobId } = await client.submitJob({ job: spec(i, opts.iterations), idempotencyKey: `bench-${i}` });
        tracked.set(jobId, { jobId, submittedAt });
      }
    };
    const submitting = Promise.all(Array.from({ length: opts.concurrency }, submitter));

    let submittedAll = false;
    void submitting.then(() => {
      submittedAll = true;
      console.log(`submitted ${opts.jobs} jobs in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    });
    const deadline = started + Math.max(RUN_TIMEOUT_MS_MIN, opts.jobs * RUN_TIMEOUT_MS_PER_JOB);
    let finals = 0;
    let lastReport = Date.now();
    while (!(submittedAll && finals === opts.jobs)) {
      if (Date.now() > deadline) throw new Error(`only ${finals} of ${opts.jobs} jobs were final after ${(deadline - started) / 1000} s`);
      await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
      const seenAt = Date.now();
      for (const j of await allJobs(client)) {
        const t = tracked.get(j.jobId);
        if (!t) continue;
        if (t.matchedAt === undefined && j.status !== 'queued') t.matchedAt = seenAt;
        if (t.finalAt === undefined && (j.status === 'settled' || j.status === 'refunded' || j.status === 'failed' || j.status === 'cancelled')) {
          t.finalAt = seenAt;
          t.finalStatus = j.status;
          finals += 1;
        }
      }
      if (Date.now() - lastReport > 5_000) {
        console.log(`  ${finals}/${opts.jobs} final`);
        lastReport = Date.now();
      }
    }
    await submitting;
    const elapsedSec = (Math.max(...[...tracked.values()].map((t) => t.finalAt!)) - started) / 1000;

    const toMatched = histogram();
    const toSettled = histogram();
    const byStatus: Record<string, number> = {};
    for (const t of tracked.values()) {
      byStatus[t.finalStatus!] = (byStatus[t.finalStatus!] ?? 0) + 1;
      if (t.matchedAt !== undefined) toMatched.recordValue(Math.max(1, t.matchedAt - t.submittedAt));
      if (t.finalStatus === 'settled') toSettled.recordValue(Math.max(1, t.finalAt! - t.submittedAt));
    }
    const result = {
      bench: 'e2e',
      jobs: opts.jobs,
      concurrency: opts.concurrency,
      iterations: opts.iterations,
      settled: byStatus.settled ?? 0,
      otherFinal: opts.jobs - (byStatus.settled ?? 0),
      elapsedSec: Number(elapsedSec.toFixed(2)),
      jobsPerSec: Number((opts.jobs / elapsedSec).toFixed(2)),
      submitToMatchedMs: { p50: toMatched.getValueAtPercentile(50), p99: toMatched.getValueAtPercentile(99) },
      submitToSettledMs: { p50: toSettled.getValueAtPercentile(50), p99: toSettled.getValueAtPercentile(99) },
      pollIntervalMs: POLL_INTERVAL_MS,
    };
    console.log(`final: ${JSON.stringify(byStatus)}`);
    console.log(`throughput: ${result.jobsPerSec} jobs/s (${opts.jobs} jobs in ${result.elapsedSec} s)`);
    console.log(`submit -> matched: p50 ${result.submitToMatchedMs.p50} ms, p99 ${result.submitToMatchedMs.p99} ms`);
    console.log(`submit -> settled: p50 ${result.submitToSettledMs.p50} ms, p99 ${result.submitToSettledMs.p99} ms`);
    console.log(JSON.stringify(result));
  } finally {
    await stack?.stop();
    await db.drop().catch(() => undefined);
    if (!opts.keep) rmSync(dataDir, { recursive: true, force: true });
    else console.log(`kept ${dataDir}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench:e2e failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
