import { join } from 'node:path';
import type { OnModuleDestroy } from '@nestjs/common';
import { Piscina } from 'piscina';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { DomainError, type Verification } from '@starminer/domain';
import type { Workload } from '@starminer/events';
import { LIGHT_LANE_THREADS, retryAfterSecOf, verificationCostOf, type VerificationCost, type VerifyLane } from './verification-cost';
import type { VerifyTask } from './verify-task';

/**
 * The worker thread's entry. From source: verify-worker.cjs, which registers the TypeScript hook,
 * then loads verify-task.ts. Built (`npm run build`, the image): the compiled verify-task.js itself,
 * plain node, no hook.
 */
export const VERIFY_WORKER_FILE = __filename.endsWith('.ts') ? join(__dirname, 'verify-worker.cjs') : join(__dirname, 'verify-task.js');

export interface VerificationPoolOptions {
  /** Threads of the heavy lane (SETTLEMENT_VERIFY_THREADS). */
  readonly heavyThreads: number;
  readonly lightThreads?: number;
  /** Verifications that may wait in each lane beyond its running ones (SETTLEMENT_VERIFY_QUEUE_MAX). */
  readonly queueMax: number;
  /** Where /metrics reads the lanes from (the service's registry). */
  readonly metrics?: Registry;
  /** The cost model (a spec gives tighter bounds); verificationCostOf otherwise. */
  readonly costOf?: (workload: Workload) => VerificationCost;
}

export interface LaneStats {
  readonly threads: number;
  readonly active: number;
  readonly queued: number;
}

export type VerifyOutcome = 'verified' | 'rejected' | 'timed-out' | 'busy' | 'failed';

interface Waiting {
  readonly task: VerifyTask;
  readonly cost: VerificationCost;
  readonly resolve: (v: Verification) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * One lane: at most `threads` verifications run (each on its own worker thread), at most
 * `queueMax` wait in order; a full lane refuses at once with VERIFICATION_BUSY. Admission is ours,
 * so a task's bound counts from when it runs, not from when it queued: the timer aborts the piscina
 * task, which terminates its worker thread (a new one takes its place).
 */
class Lane {
  private readonly pool: Piscina<VerifyTask, Verification>;
  private readonly waiting: Waiting[] = [];
  private running = 0;
  /** Estimated work in this lane (running and waiting), for the retry advice. */
  private backlogMs = 0;
  private closed = false;

  constructor(
    readonly name: VerifyLane,
    readonly threads: number,
    private readonly queueMax: number,
    private readonly done: (lane: VerifyLane, outcome: VerifyOutcome, seconds?: number) => void,
  ) {
    // Admission happens before piscina sees a task, so its own queue only covers a worker starting.
    this.pool = new Piscina({ filename: VERIFY_WORKER_FILE, minThreads: threads, maxThreads: threads, maxQueue: threads, concurrentTasksPerWorker: 1 });
  }

  stats(): LaneStats {
    return { threads: this.threads, active: this.running, queued: this.waiting.length };
  }

  run(task: VerifyTask, cost: VerificationCost): Promise<Verification> {
    if (this.closed) return Promise.reject(this.busy('settlement is stopping'));
    if (this.running >= this.threads && this.waiting.length >= this.queueMax) {
      this.done(this.name, 'busy');
      return Promise.reject(this.busy(`all ${this.threads} ${this.name} verification threads are busy and ${this.waiting.length} results wait`));
    }
    return new Promise<Verification>((resolve, reject) => {
      this.waiting.push({ task, cost, resolve, reject });
      this.backlogMs += cost.estimateMs;
      this.pump();
    });
  }

  private pump(): void {
    while (!this.closed && this.running < this.threads && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      this.running += 1;
      void this.start(next);
    }
  }

  private async start(w: Waiting): Promise<void> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), w.cost.boundMs);
    const startedAt = performance.now();
    try {
      const verification = await this.pool.run(w.task, { signal: abort.signal });
      this.done(this.name, verification.ok ? 'verified' : 'rejected', (performance.now() - startedAt) / 1000);
      w.resolve(verification);
    } catch (err) {
      if (this.closed) {
        this.done(this.name, 'busy');
        w.reject(this.busy('settlement is stopping'));
      } else if (abort.signal.aborted) {
        this.done(this.name, 'timed-out', (performance.now() - startedAt) / 1000);
        w.reject(
          new DomainError(
            'VERIFICATION_TIMED_OUT',
            `recomputing the result ran past its bound of ${w.cost.boundMs} ms (estimated ${w.cost.estimateMs} ms); nothing was decided, send the same result again later`,
            { boundMs: w.cost.boundMs, estimateMs: w.cost.estimateMs, retryAfterSec: retryAfterSecOf(this.backlogMs / this.threads) },
          ),
        );
      } else if (err instanceof Error && err.message === 'Task queue is at limit') {
        this.done(this.name, 'busy');
        w.reject(this.busy('the verification threads are starting'));
      } else {
        this.done(this.name, 'failed');
        w.reject(err); // our bug (a worker that cannot load, a crash): INTERNAL
      }
    } finally {
      clearTimeout(timer);
      this.running -= 1;
      this.backlogMs -= w.cost.estimateMs;
      this.pump();
    }
  }

  private busy(why: string): DomainError {
    return new DomainError('VERIFICATION_BUSY', `${why}; nothing was decided, send the same result again later`, {
      lane: this.name,
      retryAfterSec: retryAfterSecOf(this.backlogMs / this.threads),
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0)) {
      this.backlogMs -= w.cost.estimateMs;
      this.done(this.name, 'busy');
      w.reject(this.busy('settlement is stopping'));
    }
    await this.pool.destroy(); // running tasks end now (their threads are terminated), not after their bound
  }
}

/**
 * Settlement's verification pool: results are recomputed on worker threads, never on the event
 * loop that answers commands. Two lanes, so that one job never delays another's settlement: a
 * light lane for verifications estimated at most LIGHT_VERIFY_ESTIMATE_MS_MAX (every `command`
 * job, small hash chains and matrices), which heavy ones never occupy, and a heavy lane of
 * SETTLEMENT_VERIFY_THREADS threads. Each lane has a bounded queue (full: VERIFICATION_BUSY,
 * a 503 with retry advice) and each task a bound from its workload's size (past it:
 * VERIFICATION_TIMED_OUT, a 503: nothing is decided, because the provider cannot make a recompute
 * slower, only our machine can). The same submission sent again while it is being verified shares
 * the verification under way.
 */
export class VerificationPool implements OnModuleDestroy {
  private readonly lanes: Record<VerifyLane, Lane>;
  private readonly inFlight = new Map<string, Promise<Verification>>();
  private readonly costOf: (workload: Workload) => VerificationCost;

  constructor(opts: VerificationPoolOptions) {
    this.costOf = opts.costOf ?? verificationCostOf;
    const outcomes = opts.metrics
      ? new Counter({ name: 'starminer_verify_total', help: 'Result verifications, by lane and outcome', labelNames: ['lane', 'outcome'], registers: [opts.metrics] })
      : undefined;
    const durations = opts.metrics
      ? new Histogram({
          name: 'starminer_verify_seconds',
          help: 'Time a verification ran on its worker thread',
          labelNames: ['lane'],
          buckets: [0.01, 0.1, 1, 10, 60, 300, 900],
          registers: [opts.metrics],
        })
      : undefined;
    const done = (lane: VerifyLane, outcome: VerifyOutcome, seconds?: number): void => {
      outcomes?.inc({ lane, outcome });
      if (seconds !== undefined) durations?.observe({ lane }, seconds);
    };
    this.lanes = {
      light: new Lane('light', opts.lightThreads ?? LIGHT_LANE_THREADS, opts.queueMax, done),
      heavy: new Lane('heavy', opts.heavyThreads, opts.queueMax, done),
    };
    if (opts.metrics) this.defineGauges(opts.metrics);
  }

  /** Recomputes `submitted` against the job's workload on a worker thread, within the workload's bound. */
  verify(jobId: string, workload: Workload, submitted: VerifyTask['submitted']): Promise<Verification> {
    const key = [jobId, submitted.resultHash.toLowerCase(), submitted.proofHash.toLowerCase(), submitted.output].join('\n');
    const running = this.inFlight.get(key);
    if (running) return running;
    const cost = this.costOf(workload);
    const verification = this.lanes[cost.lane].run({ workload, submitted: { output: submitted.output, resultHash: submitted.resultHash, proofHash: submitted.proofHash } }, cost);
    this.inFlight.set(key, verification);
    const forget = () => this.inFlight.delete(key);
    verification.then(forget, forget);
    return verification;
  }

  /** Whether a result of this job is being verified now (the deadline scan leaves its contract alone meanwhile). */
  isVerifying(jobId: string): boolean {
    for (const key of this.inFlight.keys()) if (key.startsWith(`${jobId}\n`)) return true;
    return false;
  }

  stats(): Record<VerifyLane, LaneStats> {
    return { light: this.lanes.light.stats(), heavy: this.lanes.heavy.stats() };
  }

  private defineGauges(metrics: Registry): void {
    const lanes = Object.values(this.lanes);
    const figures: [name: string, help: string, value: (s: LaneStats) => number][] = [
      ['starminer_verify_queue_depth', 'Results waiting for a verification thread, per lane', (s) => s.queued],
      ['starminer_verify_active', 'Verifications running now, per lane', (s) => s.active],
      ['starminer_verify_threads', 'Verification threads, per lane', (s) => s.threads],
    ];
    for (const [name, help, value] of figures) {
      new Gauge({
        name,
        help,
        labelNames: ['lane'],
        registers: [metrics],
        collect() {
          for (const lane of lanes) this.set({ lane: lane.name }, value(lane.stats()));
        },
      });
    }
  }

  /** Waiting results are answered VERIFICATION_BUSY, running ones stopped: a provider sends them again to the next instance. */
  async onModuleDestroy(): Promise<void> {
    await Promise.all(Object.values(this.lanes).map((l) => l.close()));
  }
}
