import type { WorkloadResult } from '@starminer/domain';
import { AliveClock, StarMinerApiError, type Assignment, type NodeRegistration, type ResultSubmission, type WorkloadSpec } from '@starminer/sdk/provider';
import { LIMITS, type NodeTelemetry } from '@starminer/events';
import { contextOf, JOB_ID_ATTR, SERVICE_ATTR, withSpan } from '@starminer/telemetry';
import type { Attest, AttestationEvidence } from './attestation/command-attestation';
import type { ContainerRuntime } from './containers/engine';
import { refusalOf } from './runtime';

/** The agent's name in traces (the Resource's service.name unless OTEL_SERVICE_NAME says otherwise). */
export const AGENT_SERVICE = 'provider-agent';

/** How often the agent tells the registry it is alive. */
export const HEARTBEAT_INTERVAL_MS = 10_000;
/**
 * With GPUs, a heartbeat of its own carries their telemetry at least this often, even while long
 * polls keep the node alive (a poll carries none): about the registry's history rate.
 */
export const TELEMETRY_INTERVAL_MS = 10_000;
/** The pause before the next poll when a poll came back sooner than this (a gateway that does not hold long polls). */
export const POLL_INTERVAL_MS = 500;
/**
 * How long one poll waits at the gateway for new work (a long poll, `?waitMs=`). A long poll is
 * also the node's heartbeat (the answer says `alive`), so while polls go on the agent sends no
 * heartbeat of its own: under HEARTBEAT_INTERVAL_MS, so a new poll starts before the next beat is
 * due. Signed calls go one at a time per node (a heartbeat that is due waits behind a poll at most
 * this long); with node sessions (NODE_SESSIONS, the default) they go side by side.
 */
export const POLL_WAIT_MS = 8_000;
/** The longest wait between polls (or registration attempts) after errors. */
export const BACKOFF_MS_MAX = 10_000;
/** Attempts at one job (start or submit failing) before the agent gives it up; the contract refunds it at its deadline. */
export const JOB_ATTEMPTS_MAX = 10;
/**
 * Attempts at a job whose attestation could not be had before its result goes without one (a job
 * that required a TEE is then refunded, with ATTESTATION_MISSING; one that did not is paid).
 */
export const ATTESTATION_ATTEMPTS_MAX = 3;
/** Job ids remembered as done (the oldest are forgotten first; assignments of old jobs no longer come). */
export const DONE_IDS_MAX = 10_000;

/** The gateway calls the agent makes (createProviderClient from @starminer/sdk/provider, or a fake in tests). */
export interface ProviderApi {
  registerNode(p: { registration: NodeRegistration }): Promise<{ nodeId: string }>;
  heartbeat(p: { nodeId: string; telemetry?: NodeTelemetry }): Promise<unknown>;
  getAssignments(p: { nodeId: string; waitMs?: number; signal?: AbortSignal }): Promise<{ assignments: Assignment[]; alive?: boolean }>;
  startJob(p: { nodeId: string; jobId: string }): Promise<unknown>;
  submitResult(p: { nodeId: string; jobId: string; result: ResultSubmission }): Promise<{ status: string }>;
  /** Re-match on failure: tells the market this node will not finish the job, so it goes to another node now (not at its deadline). */
  giveUpJob?(p: { nodeId: string; jobId: string; reason: string }): Promise<unknown>;
}

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export interface SignResultInput {
  jobId: string;
  resultHash: `0x${string}`;
  proofHash: `0x${string}`;
  chainId: number;
  /** the market's contracts: the result is signed for its escrow */
  addresses: { escrow: `0x${string}` };
}

/** Where finished job ids survive a restart, so a restarted agent still never runs a job twice. */
export interface DoneJournal {
  load(): string[];
  save(ids: readonly string[]): void;
}

export type LogFn = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface AgentDeps {
  api: ProviderApi;
  clock: Clock;
  registration: NodeRegistration;
  commandRuntime: boolean;
  /** The container runtime found at start (ENABLE_CONTAINER_RUNTIME): absent, workloads with an image are refused. */
  container?: ContainerRuntime;
  /** Runs a workload for a job (the job id names its container, if it has one). */
  runWorkload(workload: WorkloadSpec, jobId: string): Promise<WorkloadResult>;
  signResult(input: SignResultInput): Promise<`0x${string}`>;
  journal?: DoneJournal;
  log?: LogFn;
  /** The GPUs' live figures for a heartbeat (nvidia-smi); absent on a CPU-only agent, which sends none. */
  telemetry?: () => Promise<NodeTelemetry>;
  /** A TEE node's attestation source (ATTESTATION_COMMAND): a report bound to the job's nonce, submitted with each result. */
  attest?: Attest;
}

export type JobOutcome =
  | { kind: 'submitted'; status: string }
  | { kind: 'already-done' }
  | { kind: 'refused'; code: string }
  | { kind: 'failed'; code: string }
  | { kind: 'given-up'; code: string }
  | { kind: 'retry-later'; code: string };

/** The delay before the next poll after `consecutiveErrors` failures in a row: 500 ms, then doubling up to BACKOFF_MS_MAX. */
export function pollDelayMs(consecutiveErrors: number): number {
  if (consecutiveErrors <= 0) return POLL_INTERVAL_MS;
  return Math.min(BACKOFF_MS_MAX, POLL_INTERVAL_MS * 2 ** Math.min(consecutiveErrors, 16));
}

/** The gateway's answer when the contract already has its result (ours, sent before a lost answer). */
export const RESULT_ALREADY_FINAL = 'RESULT_ALREADY_FINAL';

const codeOf = (err: unknown): string => (err as { code?: unknown })?.code?.toString() ?? (err as Error)?.name ?? 'UNKNOWN';

/**
 * The provider agent's loop: register, heartbeat, poll for assignments, and for each new one start
 * it, run the workload, sign the result with the node key and submit it. One job at a time, each
 * at most once: finished ids are remembered (and journaled), a computed result is kept until it is
 * accepted, so a failed submit is retried without running the work again.
 */
export class ProviderAgent {
  private readonly done = new Set<string>();
  private readonly results = new Map<string, WorkloadResult>();
  /** The attestation fetched for a job's result, kept with it until the result is accepted. */
  private readonly attestations = new Map<string, AttestationEvidence>();
  private readonly started = new Set<string>();
  private readonly attempts = new Map<string, number>();
  private readonly stopping = new AbortController();
  private readonly log: LogFn;
  private pollErrors = 0;
  /** When the last heartbeat with telemetry went (-Infinity: none yet). */
  private telemetrySentAtMs = Number.NEGATIVE_INFINITY;
  private readonly alive = new AliveClock();
  private loops: Promise<void>[] = [];

  constructor(private readonly deps: AgentDeps) {
    this.log = deps.log ?? (() => undefined);
    for (const id of deps.journal?.load() ?? []) this.done.add(id);
  }

  get nodeId(): string {
    return this.deps.registration.nodeId;
  }

  get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  hasDone(jobId: string): boolean {
    return this.done.has(jobId);
  }

  /** Registers (retrying with backoff until it succeeds or the agent stops), then runs the heartbeat and poll loops. */
  async run(): Promise<void> {
    if (!(await this.registerWithRetry())) return;
    this.loops = [this.heartbeatLoop(), this.pollLoop()];
    await Promise.all(this.loops);
  }

  /** Stops both loops; a job in progress finishes its current step first. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all(this.loops);
  }

  async registerWithRetry(): Promise<boolean> {
    let errors = 0;
    while (!this.stopped) {
      try {
        await this.deps.api.registerNode({ registration: this.deps.registration });
        this.log('info', 'registered', { nodeId: this.nodeId });
        return true;
      } catch (err) {
        if (err instanceof StarMinerApiError && err.status === 409) {
          this.log('info', 'already registered', { nodeId: this.nodeId });
          return true;
        }
        if (err instanceof StarMinerApiError && err.status >= 400 && err.status < 500 && err.status !== 429) {
          this.log('error', 'registration refused', { code: err.code, message: err.message });
          throw err;
        }
        errors += 1;
        this.log('warn', 'registration failed; retrying', { code: codeOf(err), inMs: pollDelayMs(errors) });
        await this.deps.clock.sleep(pollDelayMs(errors), this.stopping.signal);
      }
    }
    return false;
  }

  /**
   * A heartbeat whenever HEARTBEAT_INTERVAL_MS passed without one: neither a heartbeat of its own
   * nor a long poll (which the gateway counts as one). Looks twice per interval, so a gap in the
   * polls (a long job) is covered within half an interval of the beat falling due.
   */
  private async heartbeatLoop(): Promise<void> {
    while (!this.stopped) {
      if (this.heartbeatDue() || this.telemetryDue()) {
        this.alive.beatSent(this.deps.clock.now());
        await this.heartbeatOnce();
      }
      await this.deps.clock.sleep(HEARTBEAT_INTERVAL_MS / 2, this.stopping.signal);
    }
  }

  /** True once HEARTBEAT_INTERVAL_MS passed since the last heartbeat or long poll that counted as one. */
  heartbeatDue(): boolean {
    return this.alive.due(this.deps.clock.now(), HEARTBEAT_INTERVAL_MS);
  }

  /** True when the agent has GPU telemetry and TELEMETRY_INTERVAL_MS passed since it last sent some. */
  telemetryDue(): boolean {
    return this.deps.telemetry !== undefined && this.deps.clock.now() - this.telemetrySentAtMs >= TELEMETRY_INTERVAL_MS;
  }

  /** One heartbeat, with the GPUs' telemetry when the agent has it (a sample that cannot be read is left out, the beat still goes). */
  async heartbeatOnce(): Promise<boolean> {
    let telemetry: NodeTelemetry | undefined;
    if (this.deps.telemetry) {
      this.telemetrySentAtMs = this.deps.clock.now();
      telemetry = await this.deps.telemetry().catch((err: unknown) => {
        this.log('warn', 'GPU telemetry could not be read; heartbeat without it', { code: codeOf(err), message: (err as Error)?.message });
        return undefined;
      });
    }
    try {
      await this.deps.api.heartbeat(telemetry ? { nodeId: this.nodeId, telemetry } : { nodeId: this.nodeId });
      return true;
    } catch (err) {
      this.log('warn', 'heartbeat failed', { code: codeOf(err) });
      return false;
    }
  }

  /**
   * The first poll reads what is assigned now (a restarted agent resumes its running jobs); every
   * later one is a long poll that the gateway answers as soon as a contract opens for the node. A
   * poll that came back early anyway (work, or a gateway that does not wait) is followed by a
   * short pause; after errors, by the backoff.
   */
  private async pollLoop(): Promise<void> {
    let waitMs = 0;
    while (!this.stopped) {
      const t0 = this.deps.clock.now();
      await this.pollOnce(waitMs);
      waitMs = POLL_WAIT_MS;
      const early = this.deps.clock.now() - t0 < POLL_INTERVAL_MS;
      if (this.pollErrors > 0 || early) await this.deps.clock.sleep(pollDelayMs(this.pollErrors), this.stopping.signal);
    }
  }

  /** One poll (waiting up to `waitMs` at the gateway for new work): fetch assignments and work through the new ones in order. Returns what happened to each. */
  async pollOnce(waitMs = 0): Promise<Map<string, JobOutcome>> {
    const outcomes = new Map<string, JobOutcome>();
    let assignments: Assignment[];
    const sentAt = this.deps.clock.now();
    if (waitMs > 0) this.alive.pollSent(sentAt);
    try {
      // a long poll ends at once when the agent stops (a plain read is short: it finishes)
      const answer = await this.deps.api.getAssignments(waitMs > 0 ? { nodeId: this.nodeId, waitMs, signal: this.stopping.signal } : { nodeId: this.nodeId });
      assignments = answer.assignments;
      if (waitMs > 0) this.alive.pollAnswered(sentAt, answer.alive === true);
      this.pollErrors = 0;
    } catch (err) {
      if (waitMs > 0) this.alive.pollAnswered(sentAt, false);
      if (this.stopped) return outcomes; // the long poll was cut short by stop()
      this.pollErrors += 1;
      this.log('warn', 'polling assignments failed', { code: codeOf(err), nextPollMs: pollDelayMs(this.pollErrors) });
      return outcomes;
    }
    for (const a of assignments) {
      if (this.stopped) break;
      if (this.done.has(a.jobId)) continue;
      outcomes.set(a.jobId, await this.process(a));
    }
    return outcomes;
  }

  /**
   * Start, run, sign, submit one assignment; every step that already happened is skipped. One span
   * in the job's trace (the assignment's traceparent, when the market traces): the calls it makes
   * to the gateway carry it (a tracing fetch), so the market's work on them joins the trace too.
   */
  process(a: Assignment): Promise<JobOutcome> {
    const parent = a.traceparent ? contextOf({ traceparent: a.traceparent }) : undefined;
    return withSpan('agent run job', { [SERVICE_ATTR]: AGENT_SERVICE, [JOB_ID_ATTR]: a.jobId, 'starminer.node_id': this.nodeId }, () => this.processNow(a), { parent });
  }

  private async processNow(a: Assignment): Promise<JobOutcome> {
    if (this.done.has(a.jobId)) return { kind: 'already-done' };
    const refusal = refusalOf(a.workload, { commandRuntime: this.deps.commandRuntime, container: this.deps.container });
    if (refusal) {
      this.log('warn', 'refusing job', { jobId: a.jobId, code: refusal.code, reason: refusal.message });
      await this.giveUp(a.jobId, `${refusal.code}: ${refusal.message}`);
      this.finish(a.jobId);
      return { kind: 'refused', code: refusal.code };
    }
    const attempt = (this.attempts.get(a.jobId) ?? 0) + 1;
    this.attempts.set(a.jobId, attempt);
    if (attempt > JOB_ATTEMPTS_MAX) {
      this.log('error', 'giving the job up after repeated failures', { jobId: a.jobId, attempts: JOB_ATTEMPTS_MAX });
      await this.giveUp(a.jobId, `JOB_ATTEMPTS_EXCEEDED: start or submit failed ${JOB_ATTEMPTS_MAX} times`);
      this.finish(a.jobId);
      return { kind: 'given-up', code: 'JOB_ATTEMPTS_EXCEEDED' };
    }

    if (a.status === 'contracted' && !this.started.has(a.jobId)) {
      try {
        await this.deps.api.startJob({ nodeId: this.nodeId, jobId: a.jobId });
      } catch (err) {
        // 409: the job is already running (this agent started it before a restart): carry on.
        if (!(err instanceof StarMinerApiError && err.status === 409)) {
          this.log('warn', 'start failed; will retry', { jobId: a.jobId, code: codeOf(err) });
          return { kind: 'retry-later', code: codeOf(err) };
        }
      }
      this.started.add(a.jobId);
    }

    let result = this.results.get(a.jobId);
    if (!result) {
      const t0 = this.deps.clock.now();
      try {
        result = await withSpan('agent workload', { [SERVICE_ATTR]: AGENT_SERVICE, [JOB_ID_ATTR]: a.jobId, 'starminer.workload_kind': a.workload.kind }, () => this.deps.runWorkload(a.workload, a.jobId));
      } catch (err) {
        this.log('error', 'workload failed; no result will be submitted', { jobId: a.jobId, code: codeOf(err), message: (err as Error).message });
        await this.giveUp(a.jobId, `the workload failed (${codeOf(err)})`);
        this.finish(a.jobId);
        return { kind: 'failed', code: codeOf(err) };
      }
      this.results.set(a.jobId, result);
      this.log('info', 'workload ran', { jobId: a.jobId, kind: a.workload.kind, ms: this.deps.clock.now() - t0 });
    }

    const attestation = await this.attestationFor(a.jobId, attempt);
    if (attestation === 'retry-later') return { kind: 'retry-later', code: 'ATTESTATION_SOURCE_FAILED' };

    try {
      const signature = await this.deps.signResult({
        jobId: a.jobId,
        resultHash: result.resultHash,
        proofHash: result.proofHash,
        chainId: a.market.chainId,
        addresses: { escrow: a.market.addresses.escrow as `0x${string}` },
      });
      const answer = await this.deps.api.submitResult({
        nodeId: this.nodeId,
        jobId: a.jobId,
        result: { output: result.output, resultHash: result.resultHash, proofHash: result.proofHash, signature, ...(attestation ? { attestation } : {}) },
      });
      this.log('info', 'result submitted', { jobId: a.jobId, status: answer.status });
      this.finish(a.jobId);
      return { kind: 'submitted', status: answer.status };
    } catch (err) {
      if (err instanceof StarMinerApiError && err.code === RESULT_ALREADY_FINAL) {
        // The result was already accepted (a retry after a lost answer): done.
        this.log('info', 'result was already in', { jobId: a.jobId, code: err.code });
        this.finish(a.jobId);
        return { kind: 'already-done' };
      }
      if (err instanceof StarMinerApiError && err.status >= 400 && err.status < 500 && err.status !== 409 && err.status !== 429) {
        this.log('error', 'result refused', { jobId: a.jobId, code: err.code, message: err.message });
        this.finish(a.jobId);
        return { kind: 'failed', code: err.code };
      }
      this.log('warn', 'submitting the result failed; will retry', { jobId: a.jobId, code: codeOf(err) });
      return { kind: 'retry-later', code: codeOf(err) };
    }
  }

  /**
   * Tells the market this node gives the job up (re-match on failure), once, best effort: an
   * answer that does not come (the gateway away, the job already moved) leaves the job to the
   * registry's liveness or its deadline, as before.
   */
  private async giveUp(jobId: string, reason: string): Promise<void> {
    if (!this.deps.api.giveUpJob || this.stopped) return;
    try {
      await this.deps.api.giveUpJob({ nodeId: this.nodeId, jobId, reason: reason.slice(0, LIMITS.reasonLengthMax) });
      this.log('info', 'job given up: it goes to another node', { jobId });
    } catch (err) {
      this.log('warn', 'giving the job up was not taken', { jobId, code: codeOf(err) });
    }
  }

  /**
   * The TEE's report for the job (none without an attestation source), fetched once and kept with
   * the result. A source that fails is tried again with the job's next attempt, up to
   * ATTESTATION_ATTEMPTS_MAX; then the result goes without one.
   */
  private async attestationFor(jobId: string, attempt: number): Promise<AttestationEvidence | undefined | 'retry-later'> {
    if (!this.deps.attest) return undefined;
    const kept = this.attestations.get(jobId);
    if (kept) return kept;
    try {
      const evidence = await withSpan('agent attestation', { [SERVICE_ATTR]: AGENT_SERVICE, [JOB_ID_ATTR]: jobId }, () => this.deps.attest!(jobId));
      this.attestations.set(jobId, evidence);
      this.log('info', 'attestation fetched', { jobId, format: evidence.format, chars: evidence.report.length });
      return evidence;
    } catch (err) {
      if (attempt < ATTESTATION_ATTEMPTS_MAX) {
        this.log('warn', 'attestation failed; will retry', { jobId, code: codeOf(err), message: (err as Error)?.message });
        return 'retry-later';
      }
      this.log('error', 'attestation failed again; submitting the result without one', { jobId, attempts: attempt, code: codeOf(err), message: (err as Error)?.message });
      return undefined;
    }
  }

  private finish(jobId: string): void {
    this.done.add(jobId);
    this.results.delete(jobId);
    this.attestations.delete(jobId);
    this.started.delete(jobId);
    this.attempts.delete(jobId);
    while (this.done.size > DONE_IDS_MAX) {
      const oldest = this.done.values().next().value as string;
      this.done.delete(oldest);
    }
    this.deps.journal?.save([...this.done]);
  }
}
