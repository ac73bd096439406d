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
  private running = false;
  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly work: () => Promise<void>,
    private readonly logger = new Logger(name),
  ) {}
  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.work();
    } catch (err) {
      this.logger.warn(`${this.name} round failed: ${(err as Error).message}`);
    } finally {
      this.running = false;
    }
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
