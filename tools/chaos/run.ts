/**
 * The chaos run: the stack on free ports in a fresh data dir; several orgs submitting jobs
 * concurrently (Idempotency-Keys, retries on 5xx and timeouts, as a real client does) while every
 * part of the stack is killed with SIGKILL in turn, each round; then a bounded wait for the market to
 * go quiet, and the counts of countFaults. All traffic goes to 127.0.0.1; every loop is bounded.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { anvilAnswers, createChainClients } from '@starminer/chain';
import { createClient, FINAL_JOB_STATUSES, type JobStatus, type SubmitJobRequest } from '@starminer/sdk';
import { freePortRange, portAcceptsConnections } from '@starminer/testing';
import { ANVIL_CHAIN_ID, SERVICES, startStack, type Stack } from '../stack/stack';
import { allZero, countFaults, type ChaosCounts, type Submission } from './counts';
import { readChainJobs, readLogJobs, readTokens } from './observe';

export const CHAOS_DEFAULTS = { rounds: 2, jobsPerRound: 6, clients: 3, graceSec: 120, maxMinutes: 60 } as const;
/** The most of each a run may be asked for. */
export const CHAOS_LIMITS = { rounds: 200, jobsPerRound: 200, clients: 20, graceSec: 3_600, maxMinutes: 24 * 60 } as const;
/** One HTTP request's timeout; a timed-out request is retried with the same Idempotency-Key. */
export const REQUEST_TIMEOUT_MS = 15_000;
/** A client retries one request this long at most (5xx, 409 in progress, 429, timeouts, refused connections)... */
export const REQUEST_GIVE_UP_MS = 180_000;
/** ...waiting this long first, doubling up to the bound. */
export const RETRY_DELAY_MS = 250;
export const RETRY_DELAY_MAX_MS = 5_000;
/** How long a killed part may take to be back (restarted and ready) before the run says so and goes on. */
export const PART_BACK_TIMEOUT_MS = 120_000;
/** A pause after a part is back, before the next kill: traffic flows through the recovered stack. */
export const KILL_SPACING_MS = 2_000;
/** Polling of the jobs while the market goes quiet. */
const QUIESCE_POLL_MS = 2_000;
/** Once every job has ended: a moment for the last chain effects and projections. */
const SETTLE_MARGIN_MS = 5_000;
const NODES_ONLINE_TIMEOUT_MS = 120_000;
/** What each org gets from the faucet at the start, and tops up with once a round. */
const ORG_FUNDS_WEI = 5_000n * 10n ** 18n;
const TOP_UP_WEI = 10n ** 18n;
/** The jobs: cheap to compute, short deadline so that "past its deadline plus grace" comes within the run. */
const JOB_EXPECTED_RUNTIME_SEC = 30;
const JOB_DEADLINE_SEC = 90;
const JOB_ITERATIONS = 2_000;
const JOB_BUDGET_WEI = 50n * 10n ** 18n;
/** Statuses after which a job changes no more (failed included: nothing follows it). */
const ENDED: readonly JobStatus[] = [...FINAL_JOB_STATUSES, 'failed'];

export interface ChaosOptions {
  rounds?: number;
  jobsPerRound?: number;
  clients?: number;
  graceSec?: number;
  maxMinutes?: number;
  /** Keep the data dir (with chaos.log, the stack's output) even when every count is 0. */
  keepData?: boolean;
  /** Progress lines (default: stderr). */
  progress?: (line: string) => void;
}

export interface ChaosReport extends ChaosCounts {
  rounds: number;
  jobs: number;
  kills: number;
  /** Parts that were not back within PART_BACK_TIMEOUT_MS after a kill. */
  partsNotBack: number;
  durationSec: number;
  /** How the accepted jobs ended, by API status (informational). */
  ended: Record<string, number>;
  ok: boolean;
  dataDir?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Answer {
  status: number;
  body: Record<string, unknown> | undefined;
}

/** One request with a timeout; a network error or timeout is status 0. */
async function call(url: string, init: { method: string; headers: Record<string, string>; body?: string }): Promise<Answer> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await res.text();
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    return { status: res.status, body };
  } catch {
    return { status: 0, body: undefined };
  }
}

/** An answer as a short name: `503 CHAIN_UNAVAILABLE`, `0` for a timeout or a refused connection. */
const answerName = (a: Answer | undefined): string => {
  if (!a) return 'none';
  const code = (a.body?.error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? `${a.status} ${code}` : String(a.status);
};

const retryable = (status: number): boolean => status === 0 || status >= 500 || status === 409 || status === 429;

/** Sends one request until it gets an answer that is not worth retrying, or REQUEST_GIVE_UP_MS passes. */
async function withRetries(send: () => Promise<Answer>, deadlineMs: number): Promise<{ answers: Answer[]; final: Answer | undefined }> {
  const answers: Answer[] = [];
  const giveUpAt = Math.min(Date.now() + REQUEST_GIVE_UP_MS, deadlineMs);
  for (let attempt = 0; ; attempt += 1) {
    const a = await send();
    answers.push(a);
    if (!retryable(a.status)) return { answers, final: a };
    if (Date.now() >= giveUpAt) return { answers, final: undefined };
    await sleep(Math.min(RETRY_DELAY_MAX_MS, RETRY_DELAY_MS * 2 ** Math.min(attempt, 10)));
  }
}

interface Org {
  orgId: string;
  apiKey: string;
}

const jobRequest = (seed: string): SubmitJobRequest => ({
  category: 'inference',
  budgetWei: JOB_BUDGET_WEI.toString(),
  urgency: 'normal',
  latencyPreference: 'normal',
  requirements: { gpuModels: [], gpuCount: 1, minVramGiB: 0, tee: false, regions: [] },
  expectedRuntimeSec: JOB_EXPECTED_RUNTIME_SEC,
  deadlineSec: JOB_DEADLINE_SEC,
  workload: { kind: 'hash-chain', seed, iterations: JOB_ITERATIONS },
});

class Traffic {
  readonly submissions: Submission[] = [];
  mintsAnsweredWei = 0n;
  faucetUnanswered = 0;
  /** What the last attempt of each unanswered submission got (status and error code): why the client gave up. */
  readonly unansweredBy: Record<string, number> = {};
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly gatewayUrl: string,
    private readonly runDeadlineMs: number,
  ) {}

  submit(org: Org, seed: string): void {
    const key = `chaos-${randomUUID()}`;
    const s: Submission = { key, orgId: org.orgId, acceptedJobIds: [], unanswered: false };
    this.submissions.push(s);
    const headers = { authorization: `Bearer ${org.apiKey}`, 'content-type': 'application/json', 'idempotency-key': key };
    const body = JSON.stringify(jobRequest(seed));
    this.track(
      (async () => {
        const { answers, final } = await withRetries(() => call(`${this.gatewayUrl}/v1/jobs`, { method: 'POST', headers, body }), this.runDeadlineMs);
        for (const a of answers) if (a.status === 202 && typeof a.body?.jobId === 'string') s.acceptedJobIds.push(a.body.jobId);
        if (!final) {
          s.unanswered = true;
          this.unansweredBy[answerName(answers[answers.length - 1])] = (this.unansweredBy[answerName(answers[answers.length - 1])] ?? 0) + 1;
        }
      })(),
    );
  }

  faucet(org: Org, amountWei: bigint): void {
    const headers = { authorization: `Bearer ${org.apiKey}`, 'content-type': 'application/json', 'idempotency-key': `chaos-faucet-${randomUUID()}` };
    const body = JSON.stringify({ amountWei: amountWei.toString() });
    this.track(
      (async () => {
        const { final } = await withRetries(() => call(`${this.gatewayUrl}/v1/dev/faucet`, { method: 'POST', headers, body }), this.runDeadlineMs);
        if (!final) this.faucetUnanswered += 1;
        else if (final.status >= 200 && final.status < 300) this.mintsAnsweredWei += amountWei;
      })(),
    );
  }

  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }
}

async function httpOk(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}

async function waitUntil(probe: () => Promise<boolean>, timeoutMs: number, stepMs = 250): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await sleep(stepMs);
  }
  return false;
}

/** The parts killed each round, in order: agents, services, then the infrastructure. */
function partsOf(stack: Stack): string[] {
  const agents = stack.agents.map((a) => a.name);
  return [...agents, ...SERVICES, 'nats', 'postgres', 'anvil'];
}

/** SIGKILL one part; resolves true once it is back (restarted and answering). */
async function killAndAwait(stack: Stack, part: string, say: (l: string) => void): Promise<boolean> {
  const proc = stack.processes.get(part);
  const before = part === 'postgres' ? stack.postgresPid() : proc?.pid;
  if (!before || (proc && (!proc.running || proc.gaveUp))) {
    say(`[chaos] ${part} is not running (${proc?.gaveUp ? 'the launcher gave up restarting it' : 'down already'}): not killed`);
    return false;
  }
  try {
    process.kill(before, 'SIGKILL');
  } catch (err) {
    say(`[chaos] ${part} (pid ${before}) could not be killed: ${(err as Error).message}`);
    return false;
  }
  say(`[chaos] killed ${part} (pid ${before})`);
  const restarted = async (): Promise<boolean> => {
    if (part === 'postgres') {
      const pid = stack.postgresPid();
      return pid !== undefined && pid !== before;
    }
    return proc !== undefined && proc.running && proc.pid !== before;
  };
  const back = await waitUntil(async () => {
    if (!(await restarted())) return false;
    if ((SERVICES as readonly string[]).includes(part)) return httpOk(`${stack.serviceUrls[part as (typeof SERVICES)[number]]}/health/ready`);
    if (part === 'nats') return portAcceptsConnections(Number(new URL(stack.natsUrl.replace('nats:', 'http:')).port));
    if (part === 'anvil') return anvilAnswers(stack.rpcUrl);
    return true;
  }, PART_BACK_TIMEOUT_MS);
  say(back ? `[chaos] ${part} is back` : `[chaos] ${part} was not back within ${PART_BACK_TIMEOUT_MS} ms`);
  return back;
}

export async function runChaos(options: ChaosOptions = {}): Promise<ChaosReport> {
  const rounds = options.rounds ?? CHAOS_DEFAULTS.rounds;
  const jobsPerRound = options.jobsPerRound ?? CHAOS_DEFAULTS.jobsPerRound;
  const clients = options.clients ?? CHAOS_DEFAULTS.clients;
  const graceSec = options.graceSec ?? CHAOS_DEFAULTS.graceSec;
  const maxMinutes = options.maxMinutes ?? CHAOS_DEFAULTS.maxMinutes;
  const say = options.progress ?? ((l: string) => process.stderr.write(`${l}\n`));
  const started = Date.now();
  const runDeadlineMs = started + maxMinutes * 60_000;

  const dataDir = mkdtempSync(join(tmpdir(), 'starminer-chaos-'));
  const logFile = join(dataDir, 'chaos.log');
  const logStream = createWriteStream(logFile, { flags: 'a' });
  const log = (line: string): void => void logStream.write(`${line}\n`);
  const sayAndLog = (line: string): void => {
    say(line);
    log(line);
  };
  let stack: Stack | undefined;
  let ok = false;
  try {
    // one run of consecutive ports below the ephemeral range (the services' health ports are
    // services..services+4), so that no outgoing connection takes one before its listener does
    const base = await freePortRange(4 + SERVICES.length - 1);
    const ports = { nats: base, postgres: base + 1, anvil: base + 2, gateway: base + 3, services: base + 4 };
    sayAndLog(`[chaos] starting the stack in ${dataDir} (output in ${logFile})`);
    stack = await startStack({ dataDir, ports, log, embeddedPostgres: true });
    const { publicClient } = createChainClients(stack.rpcUrl, ANVIL_CHAIN_ID);
    const tokensBefore = await readTokens(publicClient, stack.addresses);

    const operator = createClient({ baseUrl: stack.gatewayUrl });
    const orgs: Org[] = [];
    for (let i = 0; i < clients; i += 1) {
      const org = await operator.createOrg({ operatorToken: stack.operatorToken, name: `chaos-${i + 1}` });
      orgs.push({ orgId: org.orgId, apiKey: org.apiKey });
    }
    const traffic = new Traffic(stack.gatewayUrl, runDeadlineMs);
    for (const org of orgs) traffic.faucet(org, ORG_FUNDS_WEI);
    await traffic.drain();
    const demo = createClient({ baseUrl: stack.gatewayUrl, apiKey: stack.demoApiKey });
    const online = await waitUntil(async () => ((await demo.listNodes().catch(() => ({ nodes: [] }))).nodes.filter((n) => n.online === true).length >= 1), NODES_ONLINE_TIMEOUT_MS, 500);
    if (!online) throw new Error(`no provider node came online within ${NODES_ONLINE_TIMEOUT_MS} ms`);
    sayAndLog(`[chaos] ${orgs.length} orgs funded, providers online; ${rounds} round(s) of ${jobsPerRound} jobs`);

    let kills = 0;
    let partsNotBack = 0;
    let seq = 0;
    for (let round = 1; round <= rounds && Date.now() < runDeadlineMs; round += 1) {
      const parts = partsOf(stack);
      // the round's jobs spread over its kills: a few before the first kill, then some after each
      const perKill = Math.max(1, Math.ceil(jobsPerRound / (parts.length + 1)));
      let left = jobsPerRound;
      const submitSome = (n: number): void => {
        for (let i = 0; i < n && left > 0; i += 1, left -= 1) traffic.submit(orgs[seq % orgs.length], `chaos-${round}-${(seq += 1)}`);
      };
      submitSome(perKill);
      for (const org of orgs) traffic.faucet(org, TOP_UP_WEI);
      for (const part of parts) {
        if (Date.now() >= runDeadlineMs) break;
        await sleep(KILL_SPACING_MS);
        submitSome(perKill); // in flight while the part dies
        kills += 1;
        if (!(await killAndAwait(stack, part, sayAndLog))) partsNotBack += 1;
      }
      submitSome(left);
      sayAndLog(`[chaos] round ${round}/${rounds} done (${kills} kills so far)`);
    }
    await traffic.drain();
    const accepted = [...new Set(traffic.submissions.flatMap((s) => s.acceptedJobIds))];
    sayAndLog(`[chaos] ${traffic.submissions.length} submissions, ${accepted.length} jobs accepted; waiting for the market to go quiet`);

    // quiet: every accepted job ended, or every one not ended is past its deadline plus grace, or the run's time is up
    const quietBy = Math.min(runDeadlineMs, Date.now() + (2 * JOB_DEADLINE_SEC + graceSec) * 1_000 + 60_000);
    const statuses = new Map<string, JobStatus | 'missing'>();
    const keyOf = new Map(orgs.map((o) => [o.orgId, o.apiKey]));
    const clientOf = new Map(traffic.submissions.flatMap((s) => s.acceptedJobIds.map((id) => [id, createClient({ baseUrl: stack!.gatewayUrl, apiKey: keyOf.get(s.orgId)! })] as const)));
    for (;;) {
      for (const id of accepted) {
        if (ENDED.includes(statuses.get(id) as JobStatus)) continue;
        try {
          statuses.set(id, (await clientOf.get(id)!.getJob({ jobId: id })).status);
        } catch {
          statuses.set(id, 'missing');
        }
      }
      const open = accepted.filter((id) => !ENDED.includes(statuses.get(id) as JobStatus));
      if (open.length === 0 || Date.now() >= quietBy) break;
      await sleep(QUIESCE_POLL_MS);
    }
    await sleep(SETTLE_MARGIN_MS);

    const logJobs = await readLogJobs(stack.natsUrl);
    const orgIds = new Set(orgs.map((o) => o.orgId));
    const ours = [...logJobs.values()].filter((j) => orgIds.has(j.orgId)).map((j) => j.jobId);
    const chainJobs = await readChainJobs(publicClient, stack.addresses, [...new Set([...ours, ...accepted])]);
    const apiVisible = new Map<string, boolean>();
    for (const id of accepted) apiVisible.set(id, (await clientOf.get(id)!.getJob({ jobId: id }).then(() => true).catch(() => false)));
    const tokensAfter = await readTokens(publicClient, stack.addresses);
    const counts = countFaults({
      submissions: traffic.submissions,
      orgIds,
      logJobs,
      chainJobs,
      apiVisible,
      tokensBefore,
      tokensAfter,
      mintsAnsweredWei: traffic.mintsAnsweredWei,
      faucetUnanswered: traffic.faucetUnanswered,
      nowUnixSec: Math.floor(Date.now() / 1000),
      graceSec,
    });
    ok = allZero(counts) && partsNotBack === 0;
    const ended: Record<string, number> = {};
    for (const id of accepted) ended[statuses.get(id) ?? 'missing'] = (ended[statuses.get(id) ?? 'missing'] ?? 0) + 1;
    const unansweredBy = traffic.unansweredBy;
    return { ...counts, rounds, jobs: accepted.length, kills, partsNotBack, durationSec: Math.round((Date.now() - started) / 1000), ended, ...(Object.keys(unansweredBy).length > 0 ? { unansweredBy } : {}), ok, ...(ok && !options.keepData ? {} : { dataDir }) };
  } finally {
    await stack?.stop().catch((err: unknown) => sayAndLog(`[chaos] stopping the stack: ${(err as Error).message}`));
    await new Promise((r) => logStream.end(r));
    if (ok && !options.keepData) rmSync(dataDir, { recursive: true, force: true });
    else say(`[chaos] the stack's output and state are in ${dataDir}`);
  }
}
