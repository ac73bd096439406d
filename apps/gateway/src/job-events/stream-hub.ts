import { DomainError } from '@starminer/domain';
import { detached } from '@starminer/telemetry';

/** How far the read model has got: the views projection (GatewayViews), as the hub needs it. */
export interface ProjectionProgress {
  /** every row at or below this log sequence is committed */
  readonly checkpoint: number;
  /** true once the checkpoint passes `seq`; false after `timeoutMs`, or at once when the projection is not running */
  advancedPast(seq: number, timeoutMs: number): Promise<boolean>;
}

/** Which of `jobIds` have updates with a seq in (fromSeq, toSeq]. */
export type UpdatedAmong = (jobIds: readonly string[], fromSeq: number, toSeq: number) => Promise<string[]>;

export interface StreamHubOptions {
  readonly progress: ProjectionProgress;
  readonly updatedAmong: UpdatedAmong;
  /** open streams at most; beyond, open() refuses with TOO_MANY_STREAMS */
  readonly streamsMax: number;
  /** what a refused stream is told to wait, in seconds */
  readonly retryAfterSec: number;
  /** how long one wait on the projection lasts before the loop looks again */
  readonly wakeWaitMs: number;
  readonly onError: (err: unknown) => void;
}

/**
 * One open stream's place in the hub: woken when its job got updates, and closed by the client,
 * by the server (age, shutdown) or once its job ended.
 */
export class StreamSlot {
  private woken = false;
  private isClosed = false;
  private waiter: (() => void) | null = null;
  private readonly closeListeners: (() => void)[] = [];

  constructor(
    readonly jobId: string,
    private readonly release: (slot: StreamSlot) => void,
  ) {}

  get closed(): boolean {
    return this.isClosed;
  }

  /** Forgets a wake already taken: call right before reading, so a wake during the read is kept for the next wait. */
  takeWake(): void {
    this.woken = false;
  }

  /** Resolves when the job got updates (since the last takeWake), when the slot closes, or after `timeoutMs`. */
  wait(timeoutMs: number): Promise<void> {
    if (this.woken || this.isClosed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.waiter === done) this.waiter = null;
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiter = done;
    });
  }

  wake(): void {
    this.woken = true;
    this.waiter?.();
  }

  onClose(listener: () => void): void {
    if (this.isClosed) listener();
    else this.closeListeners.push(listener);
  }

  /** Gives the slot back (idempotent): ends a wait at once and tells the listeners. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.release(this);
    this.waiter?.();
    for (const l of this.closeListeners.splice(0)) l();
  }
}

/**
 * The job event streams of one gateway process, and what wakes them. Streams are counted (a
 * bounded number, so a flood of watchers cannot take the event loop). One loop per process, not
 * per stream, waits on the views projection; each time it moves, ONE query finds which watched
 * jobs got updates in the seqs it moved over, and only their streams wake to read them. Rows below
 * the projection's checkpoint are committed whichever replica wrote them, so updates projected by
 * another replica wake them too (this replica's checkpoint follows the shared one).
 */
export class StreamHub {
  private readonly byJob = new Map<string, Set<StreamSlot>>();
  private count = 0;
  private seen = 0;
  private loop: Promise<void> | null = null;
  private stopping = false;
  /** resolves on stop(): cuts the loop's waits short */
  private readonly stopped: Promise<false>;
  private signalStop: () => void = () => undefined;

  constructor(private readonly opts: StreamHubOptions) {
    this.stopped = new Promise((resolve) => (this.signalStop = () => resolve(false)));
  }

  /** Open streams now. */
  get size(): number {
    return this.count;
  }

  /** A slot for one stream of `jobId`, or TOO_MANY_STREAMS (503, Retry-After) at the limit or while stopping. */
  open(jobId: string): StreamSlot {
    if (this.stopping || this.count >= this.opts.streamsMax) {
      const why = this.stopping ? 'this gateway is stopping' : `this gateway serves ${this.opts.streamsMax} job event streams already`;
      throw new DomainError('TOO_MANY_STREAMS', `${why}; reconnect in ${this.opts.retryAfterSec} s`, { retryAfterSec: this.opts.retryAfterSec });
    }
    const slot = new StreamSlot(jobId, (s) => this.release(s));
    let slots = this.byJob.get(jobId);
    if (!slots) this.byJob.set(jobId, (slots = new Set()));
    slots.add(slot);
    this.count += 1;
    this.ensureLoop();
    return slot;
  }

  /** Closes every stream and stops the loop (the gateway is shutting down: clients reconnect elsewhere). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.signalStop();
    for (const slots of [...this.byJob.values()]) for (const s of [...slots]) s.close();
    await this.loop;
  }

  private release(slot: StreamSlot): void {
    const slots = this.byJob.get(slot.jobId);
    if (!slots?.delete(slot)) return;
    if (slots.size === 0) this.byJob.delete(slot.jobId);
    this.count -= 1;
  }

  private ensureLoop(): void {
    if (this.loop || this.stopping) return;
    this.seen = this.opts.progress.checkpoint;
    // started from inside one job's request, the loop serves every stream: it keeps neither that
    // job's id (logs) nor its span (traces)
    this.loop = detached(() => this.run()).finally(() => {
      this.loop = null;
      // a stream opened while the loop was ending
      if (this.count > 0) this.ensureLoop();
    });
  }

  private async run(): Promise<void> {
    while (!this.stopping && this.count > 0) {
      const from = this.seen;
      const started = Date.now();
      const advanced = await Promise.race([this.opts.progress.advancedPast(from, this.opts.wakeWaitMs), this.stopped]);
      if (this.stopping) return;
      const to = this.opts.progress.checkpoint;
      if (!advanced || to <= from) {
        // a timeout, or a projection that is not running (it answers at once): do not spin
        await this.pause(this.opts.wakeWaitMs - (Date.now() - started));
        continue;
      }
      if (this.byJob.size === 0) continue; // the last stream closed while the loop waited
      try {
        const jobIds = await this.opts.updatedAmong([...this.byJob.keys()], from, to);
        this.seen = to;
        for (const jobId of jobIds) for (const s of this.byJob.get(jobId) ?? []) s.wake();
      } catch (err) {
        // the database is away: the streams poll on their own meanwhile; look again after a pause
        this.opts.onError(err);
        await this.pause(this.opts.wakeWaitMs);
      }
    }
  }

  private async pause(ms: number): Promise<void> {
    if (ms <= 0 || this.stopping) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))), this.stopped]);
    clearTimeout(timer);
  }
}
