/**
 * `npm run bench:e2e -- --fleet N --rate R [--duration S] [--clients C] [--ramp] [--rate-max R] [--step F]`
 *
 * The platform's own ceiling. Starts the whole stack in a temporary directory without demo agents,
 * then a simulated fleet of N nodes (tools/fleet, a child process: its CPU is counted apart) that
 * speaks the real agent protocol, and C requester orgs, each with its own funds (one org's account
 * stream is one writer: several spread the budget reservations as real clients would).
 *
 * Open loop: job i is submitted at t0 + i/R, whatever the answers before it, so a slow platform
 * shows as latency and backlog rather than as a slower client. A run holds the rate for --duration
 * seconds, then waits (bounded) for every job it submitted to end.
 *
 * Stage times come from the trade log, not from polling: the bench follows `trade.job.>` and
 * `trade.contract.>` and takes each event's time as the stream stored it (JobSubmitted: queued,
 * JobMatched: matched, ContractOpened: contracted, JobStarted: running, SettlementDecided release:
 * completed, ContractReleased: settled). Each is printed as p50/p99 since the submit (the moment
 * before the POST) and as the step from the stage before.
 *
 * CPU seconds per process over the window (each service, nats-server, anvil, Postgres, the fleet,
 * this bench) come from /proc: the share of one core each used, and the bottleneck (the process
 * nearest a full core, or the machine's cores when they are all busy).
 *
 * `--ramp` runs steps at R, R*F, R*F^2 ... (default F 1.5) on one stack, each held --duration
 * seconds (default 60), until a step misses: p99 submit-to-settled over 10 s, fewer than 99 % of
 * its jobs settled, or settled throughput under 95 % of the rate. It prints the highest rate held,
 * and the last line is one JSON object with every step.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import * as hdr from 'hdr-histogram-js';
import { createClient, type StarMinerClient, type SubmitJobRequest } from '@starminer/sdk';
import { createTestDatabase, freePort } from '@starminer/testing';
import { numberOption } from '../cli-options';
import { REPO_ROOT, startStack, TS_RUNNER, type Stack } from '../stack/stack';

/** The stages of a job, in lifecycle order, and the event that marks each. */
export const STAGES = ['queued', 'matched', 'contracted', 'running', 'completed', 'settled'] as const;
type Stage = (typeof STAGES)[number];

/** A step passes when submit-to-settled p99 is at most this. */
export const SETTLED_P99_MS_MAX = 10_000;
/** ... when at least this share of its jobs settled ... */
export const SETTLED_SHARE_MIN = 0.99;
/** ... and when it settled at least this share of the offered rate. */
export const THROUGHPUT_SHARE_MIN = 0.95;
/** After the window, the longest wait for the jobs of a step to end. */
export const DRAIN_TIMEOUT_MS = 60_000;
/** Submissions in flight at once, at most (an open loop that has fallen this far behind records the rest as late). */
export const IN_FLIGHT_MAX = 4_000;
export const RATE_MAX = 5_000;
export const DURATION_SEC_MAX = 600;
export const RAMP_STEPS_MAX = 20;
const FLEET_READY_TIMEOUT_MS = 300_000;
const TICK_MS = 5;
/** Each org's funds: budgets are reserved until a job ends, so this bounds the jobs in flight per org. */
const ORG_FUNDS_WEI = 1_000_000n * 10n ** 18n;
const BUDGET_WEI = 10n ** 18n;

const histogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3 });

export function fleetArgs(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      fleet: { type: 'string' },
      rate: { type: 'string' },
      'rate-max': { type: 'string' },
      step: { type: 'string' },
      duration: { type: 'string' },
      clients: { type: 'string' },
      gpus: { type: 'string' },
      ramp: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
  });
  const ramp = values.ramp === true;
  return {
    fleet: numberOption(values, 'fleet', 1000, { min: 1, max: 20_000 }),
    rate: numberOption(values, 'rate', ramp ? 10 : 50, { min: 0.1, max: RATE_MAX, integer: false }),
    rateMax: numberOption(values, 'rate-max', 1_000, { min: 0.1, max: RATE_MAX, integer: false }),
    step: numberOption(values, 'step', 1.5, { min: 1.05, max: 4, integer: false }),
    durationSec: numberOption(values, 'duration', ramp ? 60 : 30, { min: 1, max: DURATION_SEC_MAX }),
    clients: numberOption(values, 'clients', 4, { min: 1, max: 64 }),
    gpus: numberOption(values, 'gpus', 8, { min: 1, max: 16 }),
    ramp,
    keep: values.keep === true,
    verbose: values.verbose === true,
  };
}
type FleetBenchOptions = ReturnType<typeof fleetArgs>;

const spec = (i: number): SubmitJobRequest => ({
  category: (['inference', 'ai-training', 'rendering', 'simulation'] as const)[i % 4],
  budgetWei: BUDGET_WEI.toString(),
  urgency: 'normal',
  latencyPreference: 'normal',
  requirements: { gpuModels: [], gpuCount: 1, minVramGiB: 0, tee: false, regions: [] },
  expectedRuntimeSec: 30,
  // a hash chain of a few links: nothing to compute or verify, so the platform is what is measured
  workload: { kind: 'hash-chain', seed: `fleet-bench-${i}`, iterations: 4 },
});

// ------------------------------------------------------------------ the log, as the stages' clock

interface JobTimes {
  at: Partial<Record<Stage, number>>;
  final?: 'settled' | 'refunded' | 'failed' | 'cancelled';
}

/** Follows job and contract events from a sequence on, and keeps when each job reached each stage (the stream's store time). */
class StageClock {
  readonly jobs = new Map<string, JobTimes>();
  private messages?: ConsumerMessages;
  private loop?: Promise<void>;
  finals = 0;

  static async start(nc: NatsConnection): Promise<StageClock> {
    const clock = new StageClock();
    const fromSeq = (await (await jetstreamManager(nc)).streams.info('TRADE')).state.last_seq + 1;
    const consumer = await jetstream(nc).consumers.get('TRADE', { filter_subjects: ['trade.job.>', 'trade.contract.>'], deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: fromSeq });
    clock.messages = await consumer.consume({ max_messages: 1_000 });
    const utf8 = new TextDecoder();
    clock.loop = (async () => {
      for await (const m of clock.messages!) {
        const e = JSON.parse(utf8.decode(m.data)) as { type: string; data: { jobId?: string; outcome?: string } };
        if (e.data.jobId) clock.record(e.data.jobId, e.type, e.data.outcome, m.info.timestampNanos / 1e6);
      }
    })();
    return clock;
  }

  private record(jobId: string, type: string, outcome: string | undefined, atMs: number): void {
    let j = this.jobs.get(jobId);
    if (!j) this.jobs.set(jobId, (j = { at: {} }));
    const stage: Stage | undefined = (
      { JobSubmitted: 'queued', JobMatched: 'matched', ContractOpened: 'contracted', JobStarted: 'running', ContractReleased: 'settled' } as Record<string, Stage>
    )[type] ?? (type === 'SettlementDecided' && outcome === 'release' ? 'completed' : undefined);
    if (stage && j.at[stage] === undefined) j.at[stage] = atMs;
    const final = type === 'ContractReleased' ? 'settled' : type === 'ContractRefunded' ? 'refunded' : type === 'JobFailed' || type === 'ContractOpenFailed' ? 'failed' : type === 'JobCancelled' ? 'cancelled' : undefined;
    if (final && !j.final) {
      j.final = final;
      this.finals += 1;
    }
  }

  async stop(): Promise<void> {
    await this.messages?.close();
    await this.loop?.catch(() => undefined);
  }
}

// ------------------------------------------------------------------ CPU per process, from /proc

const CLK_TCK = 100;

/** CPU seconds used so far by each pid's whole process tree. */
function cpuOfTrees(roots: ReadonlyMap<string, number[]>): Map<string, number> {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      const pid = Number(entry);
      names.set(pid, stat.slice(stat.indexOf('(') + 1, close));
      parent.set(pid, Number(fields[1]));
      ticks.set(pid, Number(fields[11]) + Number(fields[12]));
    } catch {
      /* gone meanwhile */
    }
  }
  const out = new Map<string, number>();
  for (const [name, pids] of roots) {
    let sum = 0;
    for (const [pid, t] of ticks) {
      for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) {
        if (pids.includes(p)) {
          sum += t;
          break;
        }
      }
    }
    out.set(name, sum / CLK_TCK);
  }
  // a Postgres not started by the stack (DATABASE_URL, the machine's server): its processes by name
  if (!roots.has('postgres')) {
    let sum = 0;
    for (const [pid, n] of names) if (n === 'postgres') sum += ticks.get(pid) ?? 0;
    out.set('postgres', sum / CLK_TCK);
  }
  return out;
}

// ------------------------------------------------------------------ readers' lag, from each service's /metrics

/** How often the bench reads the services' reader lag while a step runs. */
const LAG_SAMPLE_MS = 2_000;
const LAG_LINE = /^starminer_reader_lag_seconds\{reader="([^"]+)"[^}]*\} ([0-9.eE+-]+)$/;
/** prom-client's default metric: the p99 of the event loop's delay since the last scrape. */
const LOOP_LINE = /^nodejs_eventloop_lag_p99_seconds ([0-9.eE+-]+)$/;

/**
 * Samples every service's starminer_reader_lag_seconds and event-loop delay p99 until stopped;
 * keeps the worst reader lag per `service/reader` and the worst loop delay per service.
 */
function sampleLag(stack: Stack): { stop(): Promise<{ readers: Record<string, number>; loopP99Ms: Record<string, number> }> } {
  const worst: Record<string, number> = {};
  const loopP99: Record<string, number> = {};
  let running = true;
  const loop = (async () => {
    while (running) {
      await Promise.all(
        Object.entries(stack.serviceUrls).map(async ([service, url]) => {
          try {
            const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(LAG_SAMPLE_MS) })).text();
            for (const line of text.split('\n')) {
              const loop = LOOP_LINE.exec(line);
              if (loop) loopP99[service] = Math.max(loopP99[service] ?? 0, Number(loop[1]));
              const m = LAG_LINE.exec(line);
              if (!m) continue;
              const key = `${service}/${m[1]}`;
              worst[key] = Math.max(worst[key] ?? 0, Number(m[2]));
            }
          } catch {
            /* a busy service answers late: the next sample */
          }
        }),
      );
      await new Promise((r) => setTimeout(r, LAG_SAMPLE_MS));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const sorted = (o: Record<string, number>, scale: number) => Object.fromEntries(Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Number((v * scale).toFixed(2))]));
      return { readers: sorted(worst, 1), loopP99Ms: sorted(loopP99, 1000) };
    },
  };
}

// ------------------------------------------------------------------ one step at a fixed rate

interface StepResult {
  rate: number;
  durationSec: number;
  submitted: number;
  submitErrors: Record<string, number>;
  late: number;
  settled: number;
  otherFinal: number;
  unfinished: number;
  settledPerSec: number;
  stagesSinceSubmitMs: Record<Stage, { p50: number; p99: number; n: number }>;
  stageStepMs: Record<Stage, { p50: number; p99: number }>;
  submitAnswerMs: { p50: number; p99: number };
  cpuSec: Record<string, number>;
  cpuShare: Record<string, number>;
  /** the worst reader lag (seconds) seen in the window, per service/reader */
  readerLagSecMax: Record<string, number>;
  /** the worst event-loop delay p99 (ms) seen in the window, per service */
  eventLoopP99MsMax: Record<string, number>;
  bottleneck: string;
  passed: boolean;
}

async function runStep(ctx: { stack: Stack; clients: StarMinerClient[]; clock: StageClock; pids: Map<string, number[]>; runId: string; offset: number }, rate: number, durationSec: number): Promise<StepResult> {
  const submits = new Map<string, number>();
  const submitErrors: Record<string, number> = {};
  const answers = histogram();
  const total = Math.max(1, Math.round(rate * durationSec));
  let fired = 0;
  let inFlight = 0;
  let late = 0;
  const pending: Promise<void>[] = [];
  const lag = sampleLag(ctx.stack);
  const cpu0 = cpuOfTrees(ctx.pids);
  const self0 = process.cpuUsage();
  const t0 = Date.now();
  while (fired < total) {
    const due = Math.min(total, Math.floor(((Date.now() - t0) * rate) / 1000) + 1);
    while (fired < due) {
      if (inFlight >= IN_FLIGHT_MAX) {
        late += due - fired; // the platform is this far behind: these are not sent
        fired = due;
        break;
      }
      const i = ctx.offset + fired++;
      const client = ctx.clients[i % ctx.clients.length];
      const at = Date.now();
      inFlight += 1;
      pending.push(
        client
          .submitJob({ job: spec(i), idempotencyKey: `${ctx.runId}-${i}` })
          .then(
            ({ jobId }) => {
              submits.set(jobId, at);
              answers.recordValue(Math.max(1, Date.now() - at));
            },
            (err: { code?: string }) => void (submitErrors[err.code ?? 'ERROR'] = (submitErrors[err.code ?? 'ERROR'] ?? 0) + 1),
          )
          .finally(() => void (inFlight -= 1)),
      );
    }
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  // the window's CPU: what each process used while the rate was held
  const cpu1 = cpuOfTrees(ctx.pids);
  const self1 = process.cpuUsage(self0);
  const windowEnd = Date.now();
  const wallSec = (windowEnd - t0) / 1000;
  const { readers: readerLagSecMax, loopP99Ms: eventLoopP99MsMax } = await lag.stop();
  await Promise.all(pending);
  const drainUntil = Date.now() + DRAIN_TIMEOUT_MS;
  const ended = () => [...submits.keys()].filter((id) => ctx.clock.jobs.get(id)?.final).length;
  while (ended() < submits.size && Date.now() < drainUntil) await new Promise((r) => setTimeout(r, 200));

  const since = Object.fromEntries(STAGES.map((s) => [s, histogram()])) as Record<Stage, hdr.Histogram>;
  const steps = Object.fromEntries(STAGES.map((s) => [s, histogram()])) as Record<Stage, hdr.Histogram>;
  let settled = 0;
  let otherFinal = 0;
  let firstSettledAt = Number.POSITIVE_INFINITY;
  let lastSettledAt = t0;
  for (const [jobId, submittedAt] of submits) {
    const j = ctx.clock.jobs.get(jobId);
    if (!j) continue;
    let prev = submittedAt;
    for (const s of STAGES) {
      const at = j.at[s];
      if (at === undefined) continue;
      since[s].recordValue(Math.max(1, Math.round(at - submittedAt)));
      steps[s].recordValue(Math.max(1, Math.round(at - prev)));
      prev = at;
    }
    if (j.final === 'settled') {
      settled += 1;
      lastSettledAt = Math.max(lastSettledAt, j.at.settled ?? 0);
      firstSettledAt = Math.min(firstSettledAt, j.at.settled ?? Number.POSITIVE_INFINITY);
    } else if (j.final) otherFinal += 1;
  }
  const cpuSec: Record<string, number> = {};
  for (const [name, s] of cpu1) cpuSec[name] = Number((s - (cpu0.get(name) ?? 0)).toFixed(2));
  cpuSec.bench = Number(((self1.user + self1.system) / 1e6).toFixed(2));
  const cpuShare = Object.fromEntries(Object.entries(cpuSec).map(([k, v]) => [k, Number((v / wallSec).toFixed(3))]));
  const busiest = Object.entries(cpuShare).sort((a, b) => b[1] - a[1]);
  const machine = Object.values(cpuShare).reduce((a, b) => a + b, 0);
  const cores = cpus().length;
  const bottleneck =
    machine >= 0.9 * cores
      ? `the machine: ${machine.toFixed(2)} of ${cores} cores busy; most: ${busiest.slice(0, 3).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`
      : `${busiest[0][0]} at ${busiest[0][1].toFixed(2)} of a core (machine ${machine.toFixed(2)} of ${cores})`;
  // the settle rate over the span of settles: an open loop at R that keeps up settles R jobs/s from
  // its first settle to its last, whatever the latency before the first
  const settledPerSec = settled > 1 ? (settled - 1) / Math.max(0.001, (lastSettledAt - firstSettledAt) / 1000) : settled;
  const p = (h: hdr.Histogram) => ({ p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99) });
  const result: StepResult = {
    rate,
    durationSec,
    submitted: submits.size,
    submitErrors,
    late,
    settled,
    otherFinal,
    unfinished: submits.size - settled - otherFinal,
    settledPerSec: Number(settledPerSec.toFixed(2)),
    stagesSinceSubmitMs: Object.fromEntries(STAGES.map((s) => [s, { ...p(since[s]), n: since[s].totalCount }])) as StepResult['stagesSinceSubmitMs'],
    stageStepMs: Object.fromEntries(STAGES.map((s) => [s, p(steps[s])])) as StepResult['stageStepMs'],
    submitAnswerMs: p(answers),
    cpuSec,
    cpuShare,
    readerLagSecMax,
    eventLoopP99MsMax,
    bottleneck,
    passed: false,
  };
  result.passed =
    late === 0 &&
    settled >= SETTLED_SHARE_MIN * total &&
    result.stagesSinceSubmitMs.settled.p99 <= SETTLED_P99_MS_MAX &&
    settledPerSec >= THROUGHPUT_SHARE_MIN * Math.min(rate, total / durationSec);
  return result;
}

function printStep(r: StepResult): void {
  console.log(`--- ${r.rate.toFixed(1)} jobs/s offered for ${r.durationSec} s: ${r.passed ? 'HELD' : 'MISSED'}`);
  console.log(`  submitted ${r.submitted} (late ${r.late}, errors ${JSON.stringify(r.submitErrors)}); settled ${r.settled}, other final ${r.otherFinal}, unfinished ${r.unfinished}; ${r.settledPerSec} settled/s`);
  console.log(`  submit answer p50 ${r.submitAnswerMs.p50} ms, p99 ${r.submitAnswerMs.p99} ms`);
  for (const s of STAGES) {
    const a = r.stagesSinceSubmitMs[s];
    const b = r.stageStepMs[s];
    console.log(`  ${s.padEnd(10)} since submit p50 ${String(a.p50).padStart(6)} p99 ${String(a.p99).padStart(6)} ms | step p50 ${String(b.p50).padStart(6)} p99 ${String(b.p99).padStart(6)} ms (${a.n} jobs)`);
  }
  const cpu = Object.entries(r.cpuSec).sort((a, b) => b[1] - a[1]);
  console.log(`  CPU s (share of a core): ${cpu.map(([k, v]) => `${k} ${v} (${r.cpuShare[k]})`).join(', ')}`);
  console.log(`  worst reader lag (s): ${Object.entries(r.readerLagSecMax).slice(0, 8).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`  worst event-loop delay p99 (ms): ${Object.entries(r.eventLoopP99MsMax).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`  bottleneck: ${r.bottleneck}`);
}

// ------------------------------------------------------------------ the run

async function startFleetProcess(stack: Stack, opts: FleetBenchOptions): Promise<{ child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [...TS_RUNNER, join(REPO_ROOT, 'tools/fleet/main.ts'), '--gateway', stack.gatewayUrl, '--chain-id', String(stack.chainId), '--nodes', String(opts.fleet), '--gpus', String(opts.gpus), '--seed', `b${Date.now().toString(36)}`], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const errLines = createInterface({ input: child.stderr! });
  errLines.on('line', (line) => console.log(`  [fleet] ${line}`));
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the fleet was not ready in ${FLEET_READY_TIMEOUT_MS} ms`)), FLEET_READY_TIMEOUT_MS);
    child.once('exit', (code) => reject(new Error(`the fleet exited with ${code}`)));
    lines.on('line', (line) => {
      if (opts.verbose || line.includes('"ready"') || line.includes('"stopped"')) console.log(`  [fleet] ${line}`);
      if (line.includes('"fleet":"ready"')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return {
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
      }),
  };
}

export async function runFleetBench(argv: string[]): Promise<void> {
  const opts = fleetArgs(argv);
  const dataDir = mkdtempSync(join(tmpdir(), 'starminer-fleet-bench-'));
  const db = await createTestDatabase();
  let stack: Stack | undefined;
  let fleet: Awaited<ReturnType<typeof startFleetProcess>> | undefined;
  let nc: NatsConnection | undefined;
  let clock: StageClock | undefined;
  try {
    const t0 = Date.now();
    stack = await startStack({
      dataDir,
      databaseUrl: db.url,
      agents: [],
      // production's log lines (JSON), not the terminal's pretty ones, which cost the services a thread each
      logFormat: 'json',
      ports: { nats: await freePort(), postgres: await freePort(), anvil: await freePort(), gateway: await freePort() },
      log: opts.verbose ? (line) => console.log(line) : (line) => (line.startsWith('[stack]') ? console.log(line) : undefined),
    });
    console.log(`stack up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const admin = createClient({ baseUrl: stack.gatewayUrl });
    const clients: StarMinerClient[] = [];
    for (let c = 0; c < opts.clients; c++) {
      const org = await admin.createOrg({ operatorToken: stack.operatorToken, name: `bench-client-${c}` });
      const client = createClient({ baseUrl: stack.gatewayUrl, apiKey: org.apiKey });
      await client.faucet({ amountWei: ORG_FUNDS_WEI, idempotencyKey: `bench-funds-${c}` });
      clients.push(client);
    }
    fleet = await startFleetProcess(stack, opts);
    const conn = await connect({ servers: stack.natsUrl, name: 'bench-e2e-fleet' });
    nc = conn;
    clock = await StageClock.start(conn);
    const pids = new Map<string, number[]>();
    for (const [name, p] of stack.processes) if (p.pid !== undefined) pids.set(name, [p.pid]);
    const pgPid = stack.postgresPid();
    if (pgPid !== undefined) pids.set('postgres', [pgPid]);
    if (fleet.child.pid !== undefined) pids.set('fleet', [fleet.child.pid]);
    const ctx = { stack, clients, clock, pids, runId: `run-${Date.now().toString(36)}`, offset: 0 };

    const steps: StepResult[] = [];
    const rates: number[] = [];
    if (opts.ramp) for (let r = opts.rate; r <= opts.rateMax && rates.length < RAMP_STEPS_MAX; r *= opts.step) rates.push(Number(r.toFixed(1)));
    else rates.push(opts.rate);
    for (const rate of rates) {
      const r = await runStep(ctx, rate, opts.durationSec);
      ctx.offset += r.submitted + r.late + Object.values(r.submitErrors).reduce((a, b) => a + b, 0);
      printStep(r);
      steps.push(r);
      if (opts.ramp && !r.passed) break;
    }
    const held = steps.filter((s) => s.passed).map((s) => s.rate);
    const ceiling = held.length ? Math.max(...held) : 0;
    if (opts.ramp) console.log(`highest rate held for ${opts.durationSec} s with submit-to-settled p99 <= ${SETTLED_P99_MS_MAX} ms: ${ceiling} jobs/s`);
    console.log(
      JSON.stringify({
        bench: 'e2e-fleet',
        fleet: opts.fleet,
        gpusPerNode: opts.gpus,
        clients: opts.clients,
        durationSec: opts.durationSec,
        ramp: opts.ramp,
        ceilingJobsPerSec: opts.ramp ? ceiling : undefined,
        steps: steps.map((s) => ({ rate: s.rate, passed: s.passed, settled: s.settled, settledPerSec: s.settledPerSec, late: s.late, otherFinal: s.otherFinal, unfinished: s.unfinished, stagesSinceSubmitMs: s.stagesSinceSubmitMs, cpuShare: s.cpuShare, readerLagSecMax: s.readerLagSecMax, eventLoopP99MsMax: s.eventLoopP99MsMax, bottleneck: s.bottleneck })),
      }),
    );
  } finally {
    await clock?.stop();
    await nc?.close().catch(() => undefined);
    await fleet?.stop();
    await stack?.stop();
    await db.drop().catch(() => undefined);
    if (!opts.keep) rmSync(dataDir, { recursive: true, force: true });
    else console.log(`kept ${dataDir}`);
  }
}
