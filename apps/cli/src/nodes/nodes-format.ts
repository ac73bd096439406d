import { agpu, table } from '../shared/output';

/** What the CLI shows of a node (the SDK's Node has these and more). */
export interface NodeView {
  nodeId: string;
  gpuModel: string;
  gpuCount: number;
  vramGiB: number;
  region: string;
  latencyMs?: number;
  tee?: boolean;
  reputation?: number;
  benchmarkScore?: number;
  online?: boolean;
  activeJobs?: number;
  providerId?: string;
  stakeWei?: string;
}

/**
 * The filter words as one expression: `starminer nodes search gpu=H100 'vram>=80'` sends
 * `gpu=H100 vram>=80`. A word the shell kept whole (`'region in [eu-west, us-east]'`) stays whole;
 * the gateway parses the language and names the term it could not read.
 */
export function filterOf(words: readonly (string | number)[] | undefined): string | undefined {
  const expr = (words ?? []).map(String).map((w) => w.trim()).filter((w) => w.length > 0).join(' ');
  return expr.length > 0 ? expr : undefined;
}

const yesNo = (b: boolean | undefined): string | undefined => (b === undefined ? undefined : b ? 'yes' : 'no');

/** `starminer nodes search`: one row per node. */
export function nodesTable(nodes: readonly NodeView[]): string {
  return table(
    ['NODE', 'GPU', 'GPUS', 'VRAM', 'REGION', 'LATENCY', 'TEE', 'REPUTATION', 'BENCHMARK', 'ONLINE', 'ACTIVE', 'STAKE'],
    nodes.map((n) => [
      n.nodeId,
      n.gpuModel,
      n.gpuCount,
      `${n.vramGiB} GiB`,
      n.region,
      n.latencyMs === undefined ? undefined : `${n.latencyMs} ms`,
      yesNo(n.tee),
      n.reputation === undefined ? undefined : n.reputation.toFixed(3),
      n.benchmarkScore,
      yesNo(n.online),
      n.activeJobs,
      n.stakeWei === undefined ? undefined : agpu(n.stakeWei),
    ]),
  );
}
