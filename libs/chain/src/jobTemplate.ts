import { encodeAbiParameters, isHex, keccak256, stringToBytes, type Hex } from 'viem';

/**
 * A job template's terms, as ComputeVaults hashes them (`TEMPLATE_TYPEHASH`, `templateHashOf`):
 * the vault's owner signs the hash, and every draw restates these terms, which the contract hashes
 * and compares before it opens anything.
 *  - specHash: the job's spec (category, requirements with the GPU count, workload, urgency,
 *    latency, green, relative deadline), hashed off chain: the chain holds the platform to it only
 *    through the template hash that the draw emits (VaultDrawn) and the job's terms hash.
 *  - budgetWei: the most one job of the template may cost; the chain refuses a costlier draw.
 *  - expectedRuntimeSec: restated by every job drawn; the chain refuses another.
 */
export interface JobTemplate {
  specHash: Hex;
  budgetWei: bigint;
  expectedRuntimeSec: number;
}

/** The EIP-712 type: `templateHash` is JobTemplate's struct hash, so a wallet can show the terms. */
export const JOB_TEMPLATE_TYPE = 'JobTemplate(bytes32 specHash,uint256 budgetWei,uint32 expectedRuntimeSec)';
export const JOB_TEMPLATE_TYPEHASH: Hex = keccak256(stringToBytes(JOB_TEMPLATE_TYPE));
export const JOB_TEMPLATE_TYPES = {
  JobTemplate: [
    { name: 'specHash', type: 'bytes32' },
    { name: 'budgetWei', type: 'uint256' },
    { name: 'expectedRuntimeSec', type: 'uint32' },
  ],
} as const;

const UINT256_MAX = 2n ** 256n - 1n;
const UINT32_MAX = 2 ** 32 - 1;

/** keccak256(abi.encode(TEMPLATE_TYPEHASH, specHash, budgetWei, expectedRuntimeSec)): what ComputeVaults computes in `draw`. */
export function jobTemplateHash(t: JobTemplate): Hex {
  if (!isHex(t.specHash, { strict: true }) || t.specHash.length !== 66) throw new RangeError(`specHash must be 32 bytes of hex, got ${t.specHash}`);
  if (t.budgetWei < 0n || t.budgetWei > UINT256_MAX) throw new RangeError(`budgetWei ${t.budgetWei} is not a uint256`);
  if (!Number.isInteger(t.expectedRuntimeSec) || t.expectedRuntimeSec < 0 || t.expectedRuntimeSec > UINT32_MAX) {
    throw new RangeError(`expectedRuntimeSec ${t.expectedRuntimeSec} is not a uint32`);
  }
  return keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'bytes32' }, { type: 'uint256' }, { type: 'uint32' }],
      [JOB_TEMPLATE_TYPEHASH, t.specHash, t.budgetWei, t.expectedRuntimeSec],
    ),
  );
}
