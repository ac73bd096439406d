import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { COMMANDS, LIMITS } from '@starminer/events';
import { CommandBus } from '@starminer/service-kit';
import { POLL_HEARTBEAT_EVERY_MS, POLL_HEARTBEAT_NODES_MAX, POLL_HEARTBEATS_FLUSH_MS } from './assignment-limits';

const HEARTBEATS = COMMANDS.registry.heartbeats;

/** A poll's beat waiting for the next flush. */
interface QueuedBeat {
  readonly nodeId: string;
  readonly nodeAddress: string;
  readonly nowMs: number;
  readonly answer: Promise<boolean>;
  resolve(alive: boolean): void;
}

/**
 * A provider's long poll for assignments, signed by its node key, says as much as a heartbeat: the
 * gateway sends it on to the registry as one, at most every POLL_HEARTBEAT_EVERY_MS per node, and
 * tells the agent so (`alive`), which then skips its own heartbeats while it polls. The beats of all
 * nodes go together: one `cmd.registry.heartbeats` every POLL_HEARTBEATS_FLUSH_MS, or as soon as
 * LIMITS.heartbeatsPerCommandMax wait, each poll answered by its own beat's result. Per process and
 * in memory: a node polling another replica beats there; a forgotten node beats again at its next poll.
 */
@Injectable()
export class PollHeartbeats implements OnModuleDestroy {
  private readonly logger = new Logger('assignments');
  /** node id -> when its last poll heartbeat was accepted (oldest first) */
  private readonly beats = new Map<string, number>();
  /** Beats waiting for the next flush, in arrival order: one a node (a second poll of a queued node waits for the same answer). */
  private readonly queued = new Map<string, QueuedBeat>();
  private timer: NodeJS.Timeout | null = null;
  /** Flushes sent and not yet answered: stopping waits for them. */
  private readonly flushing = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly bus: CommandBus) {}

  /** True once the registry has a heartbeat of the node from at most POLL_HEARTBEAT_EVERY_MS ago; false when sending it failed or it was refused. */
  beat(nodeId: string, nodeAddress: string, nowMs = Date.now()): Promise<boolean> {
    const last = this.beats.get(nodeId);
    if (last !== undefined && nowMs - last < POLL_HEARTBEAT_EVERY_MS) return Promise.resolve(true);
    if (this.stopped) return Promise.resolve(false);
    const waiting = this.queued.get(nodeId);
    if (waiting) return waiting.answer;
    let resolve!: (alive: boolean) => void;
    const answer = new Promise<boolean>((r) => (resolve = r));
    this.queued.set(nodeId, { nodeId, nodeAddress, nowMs, answer, resolve });
    if (this.queued.size >= LIMITS.heartbeatsPerCommandMax) this.flushNow();
    else this.timer ??= setTimeout(() => this.flushNow(), POLL_HEARTBEATS_FLUSH_MS);
    return answer;
  }

  /** Sends what is queued and answers every poll waiting, so that none hangs. */
  /**
   * Sends the queue now if `nodeId`'s beat is still in it: a poll that answers at once (its work
   * was waiting) does not wait up to POLL_HEARTBEATS_FLUSH_MS for its beat's answer.
   */
  hurry(nodeId: string): void {
    if (this.queued.has(nodeId)) this.flushNow();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    while (this.queued.size > 0) this.flushNow();
    await Promise.all([...this.flushing]);
  }

  /** Takes up to LIMITS.heartbeatsPerCommandMax queued beats into one command; the rest wait for the next timer. */
  private flushNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch: QueuedBeat[] = [];
    for (const b of this.queued.values()) {
      if (batch.length === LIMITS.heartbeatsPerCommandMax) break;
      batch.push(b);
    }
    for (const b of batch) this.queued.delete(b.nodeId);
    if (this.queued.size > 0 && !this.stopped) this.timer = setTimeout(() => this.flushNow(), POLL_HEARTBEATS_FLUSH_MS);
    if (batch.length === 0) return;
    const sent = this.send(batch).finally(() => this.flushing.delete(sent));
    this.flushing.add(sent);
  }

  /** One command for the batch; each beat answered by its own result, every beat false when the command failed. */
  private async send(batch: readonly QueuedBeat[]): Promise<void> {
    let results: readonly { nodeId: string; ok: boolean }[] = [];
    try {
      ({ results } = await this.bus.send(HEARTBEATS, { beats: batch.map((b) => ({ nodeId: b.nodeId, nodeAddress: b.nodeAddress })) }));
    } catch (err) {
      this.logger.warn(`${batch.length} poll heartbeat(s) failed: ${(err as { code?: string }).code ?? (err as Error).message}`);
    }
    batch.forEach((b, i) => {
      const r = results[i];
      const alive = r?.nodeId === b.nodeId && r.ok;
      if (alive) this.remember(b.nodeId, b.nowMs);
      b.resolve(alive);
    });
  }

  private remember(nodeId: string, nowMs: number): void {
    this.beats.delete(nodeId);
    this.beats.set(nodeId, nowMs);
    if (this.beats.size > POLL_HEARTBEAT_NODES_MAX) this.beats.delete(this.beats.keys().next().value as string);
  }
}
