import type { EventData } from '@starminer/events';
import type { JobSpec, NodeSpec } from '@starminer/matching';

/** Log events → the engine's shapes. Time comes from the event, never from a clock. */
export function nodeSpecOf(d: EventData<'NodeRegistered'>, online: boolean): NodeSpec {
  return {
    nodeId: d.nodeId,
    providerAddress: d.nodeAddress,
    gpuModel: d.gpuModel,
    gpuCount: d.gpuCount,
    vramGiB: d.vramGiB,
    region: d.region,
    latencyMs: d.latencyMs,
    tee: d.tee,
    carbonGPerKwh: d.energy.carbonGPerKwh,
    renewableShare: d.energy.renewableShare,
    benchmarkScore: d.benchmark.score,
    benchmarkKind: d.benchmark.kind,
    reputation: d.reputation,
    poolId: d.poolId,
    stakeWei: d.stakeWei,
    online,
    runtimes: [...d.runtimes],
  };
}

/**
 * A job queued again after a failed attempt (JobRequeued): as submitted, but for at most the escrow
 * its contract holds, never on the nodes that failed it, and with its deadline counted from now.
 */
export function requeuedJobSpecOf(d: EventData<'JobRequeued'>, occurredAt: string): JobSpec {
  const spec = jobSpecOf(d.submitted, occurredAt);
  return { ...spec, budgetWei: d.budgetWei, requirements: { ...spec.requirements, excludedNodeIds: [...d.excludedNodeIds] } };
}

export function jobSpecOf(d: EventData<'JobSubmitted'>, occurredAt: string): JobSpec {
  const submittedAtMs = Date.parse(occurredAt);
  return {
    jobId: d.jobId,
    category: d.category,
    budgetWei: d.budgetWei,
    urgency: d.urgency,
    latencyPreference: d.latencyPreference,
    requirements: {
      gpuModels: [...d.requirements.gpuModels],
      gpuCount: d.requirements.gpuCount,
      minVramGiB: d.requirements.minVramGiB,
      tee: d.requirements.tee,
      regions: [...d.requirements.regions],
      maxLatencyMs: d.requirements.maxLatencyMs,
      // a workload with a container image runs only where an engine was found (issue 17)
      ...(d.workload.kind === 'command' && d.workload.image !== undefined ? { runtime: 'container' } : {}),
    },
    expectedRuntimeSec: d.expectedRuntimeSec,
    green: d.green,
    submittedAtMs,
    deadlineAtMs: submittedAtMs + d.deadlineSec * 1000,
    // redundancy (issue 17): the engine places a group's copies on distinct nodes
    ...(d.redundantCopy ? { redundancyGroup: d.redundantCopy.groupId } : {}),
  };
}
