import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { nodeDecider, nodeKeyDecider, nodeKeyId } from '@starminer/domain';
import type { TradeEvent } from '@starminer/events';
import { ServiceRuntime } from '@starminer/service-kit';
import type { StoredEvent } from '@starminer/trade-log';
import { NodesProjection } from '../nodes/nodes.projection';

/** The durable consumer's name (it remembers, across restarts, which outcomes were handled). */
export const OUTCOMES_DURABLE = 'registry-outcomes';

/**
 * Settlement outcomes move the reputation of the node that ran the job: a release towards 1, a
 * refund towards 0, once per job (the node decider counts each job once, so a redelivered or
 * repeated outcome moves nothing). An outcome with no node to move (a refund of a job that never
 * opened a contract, a key that registered no node) is skipped.
 */
@Injectable()
export class OutcomesConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly rt: ServiceRuntime,
    private readonly nodes: NodesProjection,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.rt.consume({
      durable: OUTCOMES_DURABLE,
      filterSubjects: [this.rt.filter('contract')],
      handler: async (batch) => {
        for (const stored of batch) await this.handle(stored);
      },
    });
  }

  async handle({ event }: StoredEvent): Promise<void> {
    const e = event as TradeEvent;
    if (e.type !== 'ContractReleased' && e.type !== 'ContractRefunded') return;
    const jobId = e.data.jobId;
    // a refusal or an unreadable aggregate is parked at once by the runtime's consumer; anything else is retried
    const nodeAddress = e.type === 'ContractReleased' ? e.data.nodeAddress : await this.nodeAddressOfJob(jobId);
    if (!nodeAddress) return;
    const nodeId = await this.nodeOfKey(nodeAddress);
    if (!nodeId) return;
    await this.rt.execute('node', nodeId, nodeDecider, { type: 'RecordOutcome', jobId, outcome: e.type === 'ContractReleased' ? 'released' : 'refunded' }, {
      correlationId: jobId,
      causationId: e.id,
      actor: 'service:registry',
    });
  }

  /** The node key a job's contract names now (only a release names it): the open's, or the last re-match's (ContractReassigned). */
  private async nodeAddressOfJob(jobId: string): Promise<string | undefined> {
    const named = (await this.rt.events('contract', jobId)).findLast((c) => c.type === 'ContractOpened' || c.type === 'ContractReassigned');
    return named?.type === 'ContractOpened' || named?.type === 'ContractReassigned' ? named.data.nodeAddress : undefined;
  }

  /** The node a key is bound to on the log; for a node registered before keys were bound, the read model's. */
  private async nodeOfKey(nodeAddress: string): Promise<string | undefined> {
    const { state } = await this.rt.load('nodekey', nodeKeyId(nodeAddress), nodeKeyDecider);
    if (state.status === 'bound') return state.nodeId;
    return (await this.nodes.byAddress(nodeAddress))?.nodeId;
  }
}
