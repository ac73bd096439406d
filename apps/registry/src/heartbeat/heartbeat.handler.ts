import { Controller, Logger } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { DomainError, nodeDecider, nodeKeyId } from '@starminer/domain';
import { COMMANDS, LIMITS, type NodeTelemetry, type PayloadOf, type ReplyOf } from '@starminer/events';
import { CommandHandler, ServiceRuntime } from '@starminer/service-kit';
import { In } from 'typeorm';
import { NodeLivenessStore } from '../liveness/node-liveness.store';
import { NodeRow } from '../nodes/node-row.entity';
import { NodeTelemetryStore } from './node-telemetry.store';

const HEARTBEAT = COMMANDS.registry.heartbeat;
const NODE_TELEMETRY = COMMANDS.registry.nodeTelemetry;
const HEARTBEATS = COMMANDS.registry.heartbeats;
type BeatResult = ReplyOf<typeof HEARTBEATS>['results'][number];

/**
 * Beats of one `heartbeats` command taken by the single path (a node offline or not yet in the read
 * model: a load of its aggregate, and a Heartbeat appended when it was offline) at once, at most: after
 * a gateway outage a whole batch may come back at once, and the command's reply has a deadline.
 */
export const HEARTBEATS_SINGLE_PATH_CONCURRENCY = 16;

/**
 * `cmd.registry.heartbeat`: a registered node, signed by its own key, is alive. The heartbeat is
 * telemetry (NodeLiveness and NodeTelemetryStore, not the log); only an offline node's coming back
 * goes on the log. Its GPU telemetry, when it carries any, is held to the node's registered GPUs
 * (TELEMETRY_INVALID before anything is kept: the node is not counted alive by a refused beat).
 */
@Controller()
export class HeartbeatHandler {
  private readonly logger = new Logger('heartbeat');

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly liveness: NodeLivenessStore,
    private readonly telemetry: NodeTelemetryStore,
  ) {}

  @CommandHandler(HEARTBEAT)
  async heartbeat(@Payload() p: PayloadOf<typeof HEARTBEAT>): Promise<ReplyOf<typeof HEARTBEAT>> {
    const { state } = await this.rt.load('node', p.nodeId, nodeDecider);
    if (state.status === 'none') throw new DomainError('NODE_NOT_FOUND', `node ${p.nodeId} is not registered`);
    if (nodeKeyId(state.nodeAddress) !== nodeKeyId(p.nodeAddress)) throw new DomainError('NOT_NODE_KEY', 'signed by another key than the node key');
    if (p.telemetry) await this.checkTelemetry(p.nodeId, p.telemetry);
    // seen first, so the liveness scan does not take it offline again in between
    await this.liveness.seen(p.nodeId);
    if (p.telemetry) await this.telemetry.record(p.nodeId, p.telemetry);
    if (!state.online) {
      await this.rt.execute('node', p.nodeId, nodeDecider, { type: 'Heartbeat' }, { correlationId: p.nodeId, causationId: p.nodeId, actor: `node:${p.nodeId}` });
    }
    return { ok: true };
  }

  /**
   * `cmd.registry.heartbeats`: a gateway's poll heartbeats, batched. A beat of a node the read model
   * holds online is judged there (the node key, compared as `heartbeat` compares it) and counted by
   * one liveness statement for all of them: nothing to append. Any other beat (a node offline there,
   * or not there yet: registered a moment ago, or never) takes the single path, which reads the log
   * and appends Heartbeat when the node was offline. A node the read model still holds online a
   * moment after the log took it offline is counted alive without coming back on the log; its next
   * beat, once the read model follows, brings it back. Each beat answers alone, in order.
   */
  @CommandHandler(HEARTBEATS)
  async heartbeats(@Payload() p: PayloadOf<typeof HEARTBEATS>): Promise<ReplyOf<typeof HEARTBEATS>> {
    const ids = [...new Set(p.beats.map((b) => b.nodeId))];
    const rows = await this.rt.db.getRepository(NodeRow).find({ select: { nodeId: true, nodeAddress: true, online: true }, where: { nodeId: In(ids) } });
    const byId = new Map(rows.map((r) => [r.nodeId, r]));
    const results: BeatResult[] = new Array<BeatResult>(p.beats.length);
    const counted: string[] = [];
    const single: number[] = [];
    p.beats.forEach((b, i) => {
      const row = byId.get(b.nodeId);
      if (!row?.online) single.push(i);
      else if (nodeKeyId(row.nodeAddress) !== nodeKeyId(b.nodeAddress)) results[i] = { nodeId: b.nodeId, ok: false, code: 'NOT_NODE_KEY' };
      else {
        counted.push(b.nodeId);
        results[i] = { nodeId: b.nodeId, ok: true };
      }
    });
    await this.liveness.seenMany(counted);
    for (let next = 0; next < single.length; next += HEARTBEATS_SINGLE_PATH_CONCURRENCY) {
      await Promise.all(single.slice(next, next + HEARTBEATS_SINGLE_PATH_CONCURRENCY).map(async (i) => (results[i] = await this.singleBeat(p.beats[i]!))));
    }
    return { results };
  }

  /** One beat of a batch by the single path, its refusal (or failure) answered as its result. */
  private async singleBeat(b: { nodeId: string; nodeAddress: string }): Promise<BeatResult> {
    try {
      await this.heartbeat(b);
      return { nodeId: b.nodeId, ok: true };
    } catch (err) {
      if (err instanceof DomainError) return { nodeId: b.nodeId, ok: false, code: err.code };
      this.logger.error(`poll heartbeat of node ${b.nodeId} failed: ${(err as Error).stack ?? String(err)}`);
      return { nodeId: b.nodeId, ok: false, code: 'INTERNAL' };
    }
  }

  /** `cmd.registry.nodeTelemetry`: the node's latest sample and its bounded history (empty for a node that never sent any). */
  @CommandHandler(NODE_TELEMETRY)
  nodeTelemetry(@Payload() p: PayloadOf<typeof NODE_TELEMETRY>): Promise<ReplyOf<typeof NODE_TELEMETRY>> {
    return this.telemetry.history(p.nodeId);
  }

  /** At most one entry a registered GPU, each index one of them (the schema already bounds both by LIMITS.gpusPerNodeMax). */
  private async checkTelemetry(nodeId: string, t: NodeTelemetry): Promise<void> {
    // the read model lists a node before its registration answers; a node it lacks is held to the catalogue's bound alone
    const row = await this.rt.db.getRepository(NodeRow).findOne({ select: { nodeId: true, gpuCount: true }, where: { nodeId } });
    const gpuCount = row?.gpuCount ?? LIMITS.gpusPerNodeMax;
    const beyond = t.gpus.find((g) => g.index >= gpuCount);
    if (t.gpus.length > gpuCount || beyond) {
      throw new DomainError('TELEMETRY_INVALID', `node ${nodeId} registered ${gpuCount} GPU(s); the telemetry names ${t.gpus.length}${beyond ? ` (index ${beyond.index})` : ''}`, {
        limit: gpuCount,
      });
    }
  }
}
