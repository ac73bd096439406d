import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { decodeEvent, type EventData, type TradeEvent } from '@starminer/events';
import { DomainError, NODE_HEARTBEAT_TIMEOUT_MS, nodeDecider, parseWei, type NodeRegistration } from '@starminer/domain';
import type { ConsumerHandle, ProjectionRunner, StoredEvent } from '@starminer/trade-log';
import { serveCommand, ServiceRuntime, Ticker } from '@starminer/service-kit';
import { NodeLiveness, NodeRow } from './node-row.entity';

/** How often the registry looks for nodes that stopped sending heartbeats. */
const LIVENESS_SCAN_MS = 5_000;
const LIVENESS_SCAN_ROWS_MAX = 500;

export interface RegisterNodePayload {
  /** Recovered by the gateway from the request signature: the node key. */
  readonly nodeAddress: string;
  readonly registration: Omit<NodeRegistration, 'nodeAddress' | 'stakeWei'> & { stakeWei: string };
}

@Injectable()
export class RegistryService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('registry');
  private projection!: ProjectionRunner;
  private outcomes?: ConsumerHandle;
  private readonly liveness = new Ticker('liveness', LIVENESS_SCAN_MS, () => this.markSilentNodesOffline());

  constructor(private readonly rt: ServiceRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    this.projection = this.rt.projection('nodes', [this.rt.filter('node')], (em, e) => this.apply(em, e));
    await this.projection.start();
    this.outcomes = await this.rt.tradeLog.consume({
      durable: 'registry-outcomes',
      filterSubjects: [this.rt.filter('contract')],
      decode: decodeEvent,
      handler: (batch: StoredEvent[]) => this.onOutcomes(batch),
    });
    serveCommand(this.rt.nc, this.rt.commandSubject('registry', 'registerNode'), (p: RegisterNodePayload) => this.register(p), (m) => this.logger.error(m));
    serveCommand(this.rt.nc, this.rt.commandSubject('registry', 'heartbeat'), (p: { nodeId: string; nodeAddress: string }) => this.heartbeat(p), (m) => this.logger.error(m));
    this.liveness.start();
    this.logger.log('registry ready');
  }

  async onApplicationShutdown(): Promise<void> {
    this.liveness.stop();
    await this.outcomes?.stop();
    await this.projection?.stop();
    await this.rt.close();
  }

  async register(p: RegisterNodePayload): Promise<{ nodeId: string }> {
    const registration: NodeRegistration = { ...p.registration, nodeAddress: p.nodeAddress, stakeWei: parseWei('stakeWei', p.registration.stakeWei) };
    const { seqs } = await this.rt.execute('node', registration.nodeId, nodeDecider, { type: 'RegisterNode', registration }, {
      correlationId: registration.nodeId,
      causationId: registration.nodeId,
      actor: `node:${registration.nodeId}`,
    });
    await this.seen(registration.nodeId);
    if (seqs.length) await this.projection.waitUntil(seqs[seqs.length - 1]);
    return { nodeId: registration.nodeId };
  }

  async heartbeat(p: { nodeId: string; nodeAddress: string }): Promise<{ ok: true }> {
    const { state } = await this.rt.load('node', p.nodeId, nodeDecider);
    if (state.status === 'none') throw new DomainError('NODE_NOT_FOUND', `node ${p.nodeId} is not registered`);
    if (state.nodeAddress.toLowerCase() !== p.nodeAddress.toLowerCase()) throw new DomainError('NOT_NODE_KEY', 'signed by another key than the node key');
    await this.seen(p.nodeId);
    if (!state.online) {
      await this.rt.execute('node', p.nodeId, nodeDecider, { type: 'Heartbeat' }, { correlationId: p.nodeId, causationId: p.nodeId, actor: `node:${p.nodeId}` });
    }
    return { ok: true };
  }

  private async seen(nodeId: string): Promise<void> {
    await this.rt.db.getRepository(NodeLiveness).upsert({ nodeId, lastSeenAt: new Date() }, ['nodeId']);
  }

  private async markSilentNodesOffline(): Promise<void> {
    const silentSince = new Date(Date.now() - NODE_HEARTBEAT_TIMEOUT_MS);
    const silent: { nodeId: string }[] = await this.rt.db
      .getRepository(NodeRow)
      .createQueryBuilder('n')
      .leftJoin(NodeLiveness, 'l', 'l.nodeId = n.nodeId')
      .select('n.nodeId', 'nodeId')
      .where('n.online = true AND (l.lastSeenAt IS NULL OR l.lastSeenAt < :silentSince)', { silentSince })
      .orderBy('n.nodeId')
      .limit(LIVENESS_SCAN_ROWS_MAX)
      .getRawMany();
    for (const node of silent) {
      await this.rt.execute('node', node.nodeId, nodeDecider, { type: 'MarkOffline', reason: `no heartbeat for ${NODE_HEARTBEAT_TIMEOUT_MS} ms` }, {
        correlationId: node.nodeId,
        causationId: node.nodeId,
        actor: 'service:registry',
      });
    }
  }

  /** Settlement outcomes move the node's reputation (once per job, the decider sees to that). */
  private async onOutcomes(batch: StoredEvent[]): Promise<void> {
    for (const { event } of batch) {
      const e = event as TradeEvent;
      if (e.type !== 'ContractReleased' && e.type !== 'ContractRefunded') continue;
      const jobId = e.data.jobId;
      const nodeAddress = e.type === 'ContractReleased' ? e.data.nodeAddress : await this.nodeAddressOfJob(jobId);
      if (!nodeAddress) continue;
      const node = await this.rt.db.getRepository(NodeRow).findOne({ where: { nodeAddress: nodeAddress.toLowerCase() } });
      if (!node) continue;
      await this.rt.execute('node', node.nodeId, nodeDecider, { type: 'RecordOutcome', jobId, outcome: e.type === 'ContractReleased' ? 'released' : 'refunded' }, {
        correlationId: jobId,
        causationId: e.id,
        actor: 'service:registry',
      });
    }
  }

  private async nodeAddressOfJob(jobId: string): Promise<string | undefined> {
    const opened = (await this.rt.events('contract', jobId)).find((e) => e.type === 'ContractOpened');
    return opened?.type === 'ContractOpened' ? opened.data.nodeAddress : undefined;
  }

  private async apply(em: EntityManager, { event }: StoredEvent): Promise<void> {
    const repo = em.getRepository(NodeRow);
    const e = event as TradeEvent;
    switch (e.type) {
      case 'NodeRegistered': {
        const d: EventData<'NodeRegistered'> = e.data;
        await repo.upsert(
          {
            nodeId: d.nodeId,
            nodeAddress: d.nodeAddress.toLowerCase(),
            providerId: d.providerId,
            gpuModel: d.gpuModel,
            gpuCount: d.gpuCount,
            vramGiB: d.vramGiB,
            region: d.region,
            latencyMs: d.latencyMs,
            tee: d.tee,
            benchmarkScore: d.benchmark.score,
            reputation: d.reputation,
            stakeWei: d.stakeWei,
            poolId: d.poolId ?? null,
            online: false,
          },
          ['nodeId'],
        );
        return;
      }
      case 'NodeAvailabilityChanged':
        await repo.update({ nodeId: e.data.nodeId }, { online: e.data.online });
        return;
      case 'NodeReputationChanged':
        await repo.update({ nodeId: e.data.nodeId }, { reputation: e.data.reputation });
        return;
      case 'NodeStakeChanged':
        await repo.update({ nodeId: e.data.nodeId }, { stakeWei: e.data.stakeWei, poolId: e.data.poolId });
        return;
      default:
        return;
    }
  }
}
