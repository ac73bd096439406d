import { keccak256, stringToBytes, type Hex } from 'viem';
import { toJson, type EventData } from '@starminer/events';

/** The hash of what was agreed: the job's metadata and the match's price terms, canonical JSON. */
export function termsHashOf(submitted: EventData<'JobSubmitted'>, matched: EventData<'JobMatched'>): Hex {
  return keccak256(
    stringToBytes(
      toJson({
        jobId: submitted.jobId,
        category: submitted.category,
        requirements: submitted.requirements,
        workload: submitted.workload,
        expectedRuntimeSec: submitted.expectedRuntimeSec,
        nodeId: matched.nodeId,
        gpuCount: matched.gpuCount,
        priceWeiPerHour: matched.priceWeiPerHour,
        costWei: matched.costWei,
      }),
    ),
  );
}
