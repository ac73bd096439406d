import type { NodeView } from '../nodes/nodes-format';
import { agpu, fields, instant, table } from '../shared/output';

/** The provider's view of its node (the SDK's NodeStatus has these and more). */
export interface NodeStatusView {
  node: NodeView & { nodeAddress?: string; poolId?: string | null };
  jobs: Readonly<Record<string, number>>;
}

/** `starminer provider status`: the node as the market sees it, and its jobs by status. */
export function nodeStatusText(s: NodeStatusView): string {
  const n = s.node;
  const jobs = Object.entries(s.jobs)
    .filter(([, count]) => count > 0)
    .map(([status, count]) => `${status} ${count}`)
    .join(', ');
  return fields([
    ['node', n.nodeId],
    ['address', n.nodeAddress],
    ['provider', n.providerId],
    ['online', n.online === undefined ? undefined : n.online ? 'yes' : 'no'],
    ['gpu', `${n.gpuCount} x ${n.gpuModel}, ${n.vramGiB} GiB each`],
    ['region', n.region],
    ['reputation', n.reputation === undefined ? undefined : n.reputation.toFixed(3)],
    ['benchmark', n.benchmarkScore === undefined ? undefined : String(n.benchmarkScore)],
    ['stake', n.stakeWei === undefined ? undefined : agpu(n.stakeWei)],
    ['jobs', jobs || 'none yet'],
  ]);
}

/** What the node was paid (the SDK's NodeEarnings has these and more). */
export interface EarningsView {
  nodeId: string;
  totalEarnedWei: string;
  settledJobs: number;
  refundedJobs: number;
  failedJobs: number;
  jobs: readonly { jobId: string; costWei: string; settleTxHash: string | null; settledAt: string | null }[];
  nextCursor: string | null;
}

/** `starminer provider earnings`: the total, the counts, and one row per settled job of this page. */
export function earningsText(e: EarningsView): string {
  const head = fields([
    ['node', e.nodeId],
    ['earned', agpu(e.totalEarnedWei)],
    ['settled', String(e.settledJobs)],
    ['refunded', String(e.refundedJobs)],
    ['failed', String(e.failedJobs)],
  ]);
  if (e.jobs.length === 0) return head;
  return `${head}\n\n${table(['JOB', 'PAID', 'SETTLED', 'SETTLE TX'], e.jobs.map((j) => [j.jobId, agpu(j.costWei), instant(j.settledAt), j.settleTxHash]))}`;
}
