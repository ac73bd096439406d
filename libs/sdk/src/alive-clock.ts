/**
 * When the node last told the market it is alive: a heartbeat sent, or a long poll (the gateway
 * counts one as a heartbeat at its start; the answer says whether it did). A poll still waiting at
 * the gateway counts from when it was sent; one answered `alive: false`, or failed, does not count.
 */
export class AliveClock {
  private lastMs = Number.NEGATIVE_INFINITY;
  private inFlightSinceMs: number | undefined;

  beatSent(atMs: number): void {
    this.lastMs = Math.max(this.lastMs, atMs);
  }

  pollSent(atMs: number): void {
    this.inFlightSinceMs = atMs;
  }

  pollAnswered(sentAtMs: number, counted: boolean): void {
    if (this.inFlightSinceMs === sentAtMs) this.inFlightSinceMs = undefined;
    if (counted) this.lastMs = Math.max(this.lastMs, sentAtMs);
  }

  /** True once `intervalMs` passed since the last beat, counted poll or poll in flight. */
  due(nowMs: number, intervalMs: number): boolean {
    return nowMs - Math.max(this.lastMs, this.inFlightSinceMs ?? Number.NEGATIVE_INFINITY) >= intervalMs;
  }
}
