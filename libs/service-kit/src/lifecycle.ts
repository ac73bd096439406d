import { Logger } from '@nestjs/common';

/** Serialises async work per key (e.g. per org), so a check and its append are not interleaved. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.tails.set(key, next);
    try {
      return await next;
    } finally {
      if (this.tails.get(key) === next) this.tails.delete(key);
    }
  }
}

/** A periodic job that never overlaps itself and logs, rather than crashes on, a failed round. */
export class Ticker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly work: () => Promise<void>,
    private readonly logger = new Logger(name),
  ) {}
  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }
  async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = (async () => {
      try {
        await this.work();
      } catch (err) {
        this.logger.warn(`${this.name} round failed: ${(err as Error).message}`);
      }
    })();
    try {
      await this.running;
    } finally {
      this.running = undefined;
    }
  }
  /** No new round starts; resolves once the round in progress (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.running) await stopStep((line) => this.logger.warn(line), `the round of ${this.name} in progress`, () => this.running ?? Promise.resolve());
  }
}

/** How long one step of a stop may take before it is named in a warning (it goes on waiting). */
export const SLOW_STOP_STEP_MS = 5_000;

/**
 * Runs one step of a stop, and names it in a warning each SLOW_STOP_STEP_MS it is still running:
 * a stop that hangs says on what, instead of only running past the orchestrator's grace period.
 */
export async function stopStep<T>(warn: (line: string) => void, step: string, work: () => Promise<T>, everyMs = SLOW_STOP_STEP_MS): Promise<T> {
  const startedAt = Date.now();
  const timer = setInterval(() => warn(`stopping: still waiting for ${step} after ${Date.now() - startedAt} ms`), everyMs);
  timer.unref();
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
