import { keccak256, stringToBytes, type Hex } from 'viem';

/** The on-chain key of a job: keccak256 of its UTF-8 id (so any id format maps to one bytes32). */
export function jobIdToBytes32(jobId: string): Hex {
  if (jobId.length === 0) throw new RangeError('jobId must not be empty');
  return keccak256(stringToBytes(jobId));
}

/** Pool, vault and other string ids map to bytes32 the same way. */
export function idToBytes32(id: string): Hex {
  return jobIdToBytes32(id);
}
