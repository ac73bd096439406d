import type { SerializedMix } from './fragmentation';
import type { SurgeState } from './surge';
import type { Hold, JobSpec, NodeSpec } from './types';

export const SNAPSHOT_FORMAT = 'starminer-matching-snapshot/1' as const;

export type SerializedNode = Omit<NodeSpec, 'stakeWei'> & { stakeWei: string };
export type SerializedJob = Omit<JobSpec, 'budgetWei'> & { budgetWei: string };

/** JSON-serialisable engine state (bigints as decimal strings), canonical order. */
export interface EngineSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  engineVersion: string;
  nodes: SerializedNode[];
  /** endsAtMs: expected end (absent in older snapshots = unknown, counted as overrunning) */
  reservations: { jobId: string; nodeId: string; gpuCount: number; endsAtMs?: number }[];
  queued: SerializedJob[];
  /** surge: the market's surge state (surge.ts), dwell clock included (absent in older snapshots, or never changed = calm) */
  markets: { gpuClass: string; region: string; multiplierBps: number; smoothedUtilizationBps: number; surge?: SurgeState }[];
  waiting: [string, string][];
  lastRepriceAtMs: number | null;
  /** round-robin position among categories (absent in older snapshots = 0) */
  categoryCursor?: number;
  /** nodes held for large jobs (absent in older snapshots = none) */
  holds?: Hold[];
  /** packFit's demand mix, as seen and as applied (absent in older snapshots = learned again from demand) */
  demandMix?: { seen: SerializedMix; applied: SerializedMix };
  /** when the applied mix was applied (absent in older snapshots = unknown) */
  mixAppliedAtMs?: number | null;
}

export const serializeNode = (n: NodeSpec): SerializedNode => ({ ...n, stakeWei: n.stakeWei.toString() });
export const deserializeNode = (n: SerializedNode): NodeSpec => ({ ...n, stakeWei: BigInt(n.stakeWei) });
export const serializeJob = (j: JobSpec): SerializedJob => ({
  ...j,
  budgetWei: j.budgetWei.toString(),
  requirements: { ...j.requirements, gpuModels: [...j.requirements.gpuModels], regions: [...j.requirements.regions] },
});
export const deserializeJob = (j: SerializedJob): JobSpec => ({
  ...j,
  budgetWei: BigInt(j.budgetWei),
  requirements: { ...j.requirements, gpuModels: [...j.requirements.gpuModels], regions: [...j.requirements.regions] },
});
