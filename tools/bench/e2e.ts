/**
 * `npm run bench:e2e -- --jobs N [--concurrency C] [--iterations I] [--tracing off|on|both] [--keep]`
 * (with `--fleet N --rate R [--ramp]`: a simulated fleet at an open-loop rate, tools/bench/e2e-fleet.ts)
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
 *
 * Tracing: `--tracing on` runs with every service and agent exporting spans over OTLP/HTTP (the
 * standard OTEL_* variables, passed on by the stack) to a receiver in this process on 127.0.0.1
 * that counts them and throws them away; `--tracing both` runs the same jobs on a fresh stack four
 * times, off, on, on, off, and prints the mean throughputs and on/off as `tracingThroughputRatio`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import { createClient, type Job, type StarMinerClient, type SubmitJobRequest } from '@starminer/sdk';
import { createTestDatabase, freePort } from '@starminer/testing';
import { numberOption } from '../cli-options';
import { startStack, type Stack } from '../stack/stack';
import { runFleetBench } from './e2e-fleet';

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
      tracing: { type: 'string', default: 'off' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const jobs = numberOption(values, 'jobs', 50, { min: 1, max: JOBS_MAX });
  const concurrency = numberOption(values, 'concurrency', 8, { min: 1, max: 256 });
  const iterations = numberOption(values, 'iterations', 1000, { min: 1, max: Number.MAX_SAFE_INTEGER });
  const tracing = values.tracing;
  if (tracing !== 'off' && tracing !== 'on' && tracing !== 'both') throw new Error(`--tracing is off, on or both, not ${tracing}`);
  return { jobs, concurrency, iterations, tracing, keep: values.keep === true, verbose: values.verbose === true };
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

/** The largest OTLP request body the receiver reads (the exporter's batches are far smaller). */
const OTLP_BODY_BYTES_MAX = 64 * 1024 * 1024;

/**
 * A stand-in OTLP/HTTP collector: takes POST /v1/traces (JSON, as the exporter sends it), counts
 * the spans, answers 200 and keeps nothing, so what is measured is the services' cost of tracing.
 */
async function startOtlpReceiver(): Promise<{ url: string; spans(): number; requests(): number; top(n: number): string[]; stop(): Promise<void> }> {
  let spans = 0;
  let requests = 0;
  /** spans by `service: name`, so a run says what tracing costs where */
  const byName = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= OTLP_BODY_BYTES_MAX) chunks.push(c);
    });
    req.on('end', () => {
      requests += 1;
      try {
        type Otlp = { resourceSpans?: { resource?: { attributes?: { key: string; value: { stringValue?: string } }[] }; scopeSpans?: { spans?: { name: string }[] }[] }[] };
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Otlp;
        for (const r of body.resourceSpans ?? []) {
          const service = r.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
          for (const sc of r.scopeSpans ?? []) {
            spans += sc.spans?.length ?? 0;
            for (const span of sc.spans ?? []) {
              // one word of the name: subjects and routes carry ids
              const key = `${service}: ${span.name.split(' ').slice(0, 2).join(' ')}`;
              byName.set(key, (byName.get(key) ?? 0) + 1);
            }
          }
        }
      } catch {
        /* not JSON (a protobuf exporter): counted as a request only */
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => spans,
    requests: () => requests,
    top: (n) => [...byName].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${v} ${k}`),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type Options = ReturnType<typeof args>;

async function main(): Promise<void> {
  // --fleet N: the platform's own ceiling, with a simulated fleet and an open-loop rate (e2e-fleet.ts)
  if (process.argv.slice(2).some((a) => a === '--fleet' || a.startsWith('--fleet='))) return runFleetBench(process.argv.slice(2));
  const opts = args();
  if (opts.tracing !== 'both') {
    const receiver = opts.tracing === 'on' ? await startOtlpReceiver() : undefined;
    try {
      const result = await withTracingEnv(receiver?.url, () => runOnce(opts));
      if (receiver) console.log(`spans by service and name (top 20):\n  ${receiver.top(20).join('\n  ')}`);
      console.log(JSON.stringify({ ...result, tracing: opts.tracing, ...(receiver ? { spansExported: receiver.spans() } : {}) }));
    } finally {
      await receiver?.stop();
    }
    return;
  }
  // one run, both ways, the same job count, in the order off, on, on, off (a fresh stack each): the
  // machine's drift (a cold first start, a neighbour's load) falls on both sides alike
  const receiver = await startOtlpReceiver();
  const offs: RunResult[] = [];
  const ons: RunResult[] = [];
  try {
    for (const way of ['off', 'on', 'on', 'off'] as const) {
      console.log(way === 'off' ? '--- tracing off' : '--- tracing on (OTLP/HTTP to an in-process receiver)');
      if (way === 'off') offs.push(await runOnce(opts));
      // the services' last batches go out on their shutdown, within the stack's stop
      else ons.push(await withTracingEnv(receiver.url, () => runOnce(opts)));
    }
  } finally {
    await receiver.stop();
  }
  console.log(`spans by service and name (top 20):\n  ${receiver.top(20).join('\n  ')}`);
  const mean = (runs: RunResult[]) => runs.reduce((sum, r) => sum + r.jobsPerSec, 0) / runs.length;
  const ratio = Number((mean(ons) / mean(offs)).toFixed(3));
  const off = { jobsPerSec: Number(mean(offs).toFixed(3)), runs: offs.map((r) => r.jobsPerSec) };
  const on = { jobsPerSec: Number(mean(ons).toFixed(3)), runs: ons.map((r) => r.jobsPerSec) };
  console.log(`tracing off: ${off.jobsPerSec} jobs/s (${off.runs.join(', ')}); on: ${on.jobsPerSec} jobs/s (${on.runs.join(', ')}); on/off ${ratio} (${receiver.spans()} spans exported in ${receiver.requests()} requests)`);
  console.log(JSON.stringify({ bench: 'e2e-tracing', jobs: opts.jobs, concurrency: opts.concurrency, iterations: opts.iterations, order: 'off,on,on,off', off, on, tracingThroughputRatio: ratio, spansExported: receiver.spans(), otlpRequests: receiver.requests() }));
}

/** Runs `fn` with the OTEL_* variables that turn tracing on (the stack passes them to every child), or as it is without a URL. */
async function withTracingEnv<T>(otlpUrl: string | undefined, fn: () => Promise<T>): Promise<T> {
  if (!otlpUrl) return fn();
  const vars = { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

type RunResult = Awaited<ReturnType<typeof runOnce>>;

async function runOnce(opts: Options) {
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
    return result;
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
