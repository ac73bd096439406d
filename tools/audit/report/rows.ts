import { formatUnits } from 'viem';
import type { ReportState } from './fold';
import type { Cell, Column, Table } from './table';

/** AGPU has 18 decimals: amounts are written as wei (decimal string) and as AGPU (decimal string, exact). */
const AGPU_DECIMALS = 18;

export const agpuText = (wei: bigint): string => formatUnits(wei, AGPU_DECIMALS);

const col = (name: string, type: Column['type'], describe: string): Column => ({ name, type, describe });

export const PROVIDER_COLUMNS: readonly Column[] = [
  col('provider', 'STRING', 'the provider id of NodeRegistered; (unknown) for nodes the log never registered'),
  col('nodes', 'INT32', 'nodes of the provider the log named up to the window\'s end'),
  col('gpu_models', 'STRING', 'GPU models of those nodes, separated by ;'),
  col('jobs_matched', 'INT32', 'JobMatched to its nodes in the window'),
  col('jobs_ended', 'INT32', 'its jobs released or refunded in the window'),
  col('jobs_released', 'INT32', 'ContractReleased of its jobs in the window'),
  col('jobs_refunded', 'INT32', 'ContractRefunded of its jobs in the window'),
  col('success_rate', 'DOUBLE', 'released / ended; empty when none ended'),
  col('gpu_hours', 'DOUBLE', 'runtime x the job\'s GPU count, summed over results submitted in the window'),
  col('earned_wei', 'STRING', 'ContractReleased amounts of its jobs, wei'),
  col('earned_agpu', 'STRING', 'the same in AGPU'),
  col('disputes', 'INT32', 'ResultRejected of its jobs (its result refused)'),
  col('slashes', 'INT32', 'StakeSlashed of its nodes'),
  col('slashed_wei', 'STRING', 'stake slashed from its nodes, wei'),
  col('slashed_agpu', 'STRING', 'the same in AGPU'),
  col('runtime_jobs', 'INT32', 'results submitted in the window with a known start (the runtime percentiles\' population)'),
  col('runtime_p50_sec', 'DOUBLE', 'median runtime, JobStarted to ResultSubmitted by occurredAt, seconds'),
  col('runtime_p95_sec', 'DOUBLE', '95th percentile runtime, seconds (nearest rank)'),
  col('runtime_vs_expected_p50', 'DOUBLE', 'median of runtime / expectedRuntimeSec (1 = as the requester expected)'),
  col('runtime_vs_expected_p95', 'DOUBLE', '95th percentile of runtime / expectedRuntimeSec'),
  col('runtime_percentiles', 'STRING', 'exact, or sampled (from a uniform sample of RUNTIME_SAMPLE_MAX jobs); empty without runtimes'),
  col('reputation_end', 'DOUBLE', 'mean reputation of its nodes at the window\'s end'),
];

export const ORG_COLUMNS: readonly Column[] = [
  col('org', 'STRING', 'the requester org of JobSubmitted'),
  col('category', 'STRING', 'the job\'s category'),
  col('gpu_class', 'STRING', 'GPU model of the node the job was matched to'),
  col('jobs_matched', 'INT32', 'its jobs matched in the window'),
  col('jobs_released', 'INT32', 'its jobs released in the window'),
  col('jobs_refunded', 'INT32', 'its jobs refunded in the window'),
  col('gpu_hours', 'DOUBLE', 'runtime x GPU count of its results submitted in the window'),
  col('spent_wei', 'STRING', 'spend: ContractReleased amounts of its jobs (paid to providers), wei'),
  col('spent_agpu', 'STRING', 'the same in AGPU'),
  col('refunded_wei', 'STRING', 'ContractRefunded amounts (escrow returned to it), wei'),
  col('refunded_agpu', 'STRING', 'the same in AGPU'),
];

export const REPUTATION_COLUMNS: readonly Column[] = [
  col('node', 'STRING', 'the node'),
  col('provider', 'STRING', 'its provider'),
  col('bucket_start', 'STRING', 'the bucket\'s start, ISO-8601 UTC'),
  col('bucket_sec', 'INT32', 'the bucket\'s width in seconds (doubles past REPUTATION_POINTS_PER_NODE_MAX buckets)'),
  col('reputation', 'DOUBLE', 'the last reputation in the bucket (NodeRegistered or NodeReputationChanged)'),
  col('changes', 'INT32', 'reputation events in the bucket'),
];

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The report's three tables, rows in a stable order (by provider, by org, category and GPU class, by node and time). */
export function reportTables(state: ReportState): { providers: Table; orgs: Table; reputation: Table } {
  const providers = [...state.providers.values()]
    .filter((p) => p.nodeIds.size > 0 || p.jobsMatched + p.jobsReleased + p.jobsRefunded + p.disputes + p.slashes > 0 || p.runtime.seen > 0)
    .sort((a, b) => compare(a.providerId, b.providerId))
    .map((p): Cell[] => {
      const nodes = [...p.nodeIds].map((id) => state.nodes.get(id)!);
      const ended = p.jobsReleased + p.jobsRefunded;
      const reputations = nodes.map((n) => n.reputation).filter((r): r is number => r !== null);
      return [
        p.providerId,
        nodes.length,
        [...new Set(nodes.map((n) => n.gpuModel))].sort(compare).join(';'),
        p.jobsMatched,
        ended,
        p.jobsReleased,
        p.jobsRefunded,
        ended > 0 ? p.jobsReleased / ended : null,
        p.gpuSeconds / 3600,
        p.earnedWei.toString(),
        agpuText(p.earnedWei),
        p.disputes,
        p.slashes,
        p.slashedWei.toString(),
        agpuText(p.slashedWei),
        p.runtime.seen,
        p.runtime.runtimePercentile(0.5),
        p.runtime.runtimePercentile(0.95),
        p.runtime.ratioPercentile(0.5),
        p.runtime.ratioPercentile(0.95),
        p.runtime.seen === 0 ? null : p.runtime.exact ? 'exact' : 'sampled',
        reputations.length > 0 ? reputations.reduce((s, r) => s + r, 0) / reputations.length : null,
      ];
    });
  const orgs = [...state.orgs.values()]
    .sort((a, b) => compare(a.orgId, b.orgId) || compare(a.category, b.category) || compare(a.gpuClass, b.gpuClass))
    .map((o): Cell[] => [
      o.orgId,
      o.category,
      o.gpuClass,
      o.jobsMatched,
      o.jobsReleased,
      o.jobsRefunded,
      o.gpuSeconds / 3600,
      o.spentWei.toString(),
      agpuText(o.spentWei),
      o.refundedWei.toString(),
      agpuText(o.refundedWei),
    ]);
  const reputation = [...state.nodes.values()]
    .sort((a, b) => compare(a.nodeId, b.nodeId))
    .flatMap((n) => n.series.points().map((pt): Cell[] => [n.nodeId, n.providerId, new Date(pt.bucketStartMs).toISOString(), pt.bucketMs / 1000, pt.reputation, pt.changes]));
  return {
    providers: { name: 'providers', title: 'Providers', columns: PROVIDER_COLUMNS, rows: providers },
    orgs: { name: 'orgs', title: 'Requester orgs: spend by category and GPU class', columns: ORG_COLUMNS, rows: orgs },
    reputation: { name: 'reputation', title: 'Reputation over time, per node', columns: REPUTATION_COLUMNS, rows: reputation },
  };
}
