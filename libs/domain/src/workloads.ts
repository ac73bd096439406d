import { createHash } from 'node:crypto';
import type { Workload } from '@starminer/events';

/**
 * Built-in workloads whose result anyone can recompute from the job's parameters. The provider
 * runs them; settlement recomputes and compares before it releases escrow.
 */
export interface WorkloadResult {
  /** What the requester gets back (short text; bulky outputs go elsewhere and are hashed here). */
  readonly output: string;
  /** sha256 of `output`, as 0x-prefixed 32 bytes: what the provider signs and the CSC records. */
  readonly resultHash: `0x${string}`;
  /** sha256 over the proof transcript (checkpoints of the computation). */
  readonly proofHash: `0x${string}`;
}

export type Verification = { readonly ok: true } | { readonly ok: false; readonly code: string; readonly reason: string };

/** How many checkpoints a hash-chain proof records. */
export const HASH_CHAIN_CHECKPOINTS = 16;

const sha256 = (data: string | Uint8Array): Buffer => createHash('sha256').update(data).digest();
const hex32 = (b: Buffer): `0x${string}` => `0x${b.toString('hex')}`;

export function runHashChain(seed: string, iterations: number): WorkloadResult {
  const every = Math.max(1, Math.ceil(iterations / HASH_CHAIN_CHECKPOINTS));
  let h = sha256(seed);
  const transcript: Buffer[] = [];
  for (let i = 1; i <= iterations; i += 1) {
    h = sha256(h);
    if (i % every === 0 || i === iterations) transcript.push(h);
  }
  const output = h.toString('hex');
  return { output, resultHash: hex32(sha256(output)), proofHash: hex32(sha256(Buffer.concat(transcript))) };
}

/** xorshift32 seeded from the seed's hash: the same matrices everywhere. */
function matrixFrom(seed: string, tag: string, size: number): Uint32Array {
  let x = sha256(`${tag}:${seed}`).readUInt32BE(0) || 1;
  const m = new Uint32Array(size * size);
  for (let i = 0; i < m.length; i += 1) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    m[i] = x & 0xff;
  }
  return m;
}

export function runMatmul(seed: string, size: number): WorkloadResult {
  const a = matrixFrom(seed, 'A', size);
  const b = matrixFrom(seed, 'B', size);
  const c = new Float64Array(size * size); // exact: 255*255*512 < 2^53
  for (let i = 0; i < size; i += 1) {
    for (let k = 0; k < size; k += 1) {
      const aik = a[i * size + k];
      if (aik === 0) continue;
      const row = k * size;
      const out = i * size;
      for (let j = 0; j < size; j += 1) c[out + j] += aik * b[row + j];
    }
  }
  const rowSums = new Float64Array(size);
  for (let i = 0; i < size; i += 1) {
    let s = 0;
    for (let j = 0; j < size; j += 1) s += c[i * size + j];
    rowSums[i] = s;
  }
  const output = sha256(Buffer.from(c.buffer)).toString('hex');
  return { output, resultHash: hex32(sha256(output)), proofHash: hex32(sha256(Buffer.from(rowSums.buffer))) };
}

/** Runs a built-in workload. `command` workloads run in the agent's runtime, not here. */
export function runBuiltInWorkload(workload: Workload): WorkloadResult {
  switch (workload.kind) {
    case 'hash-chain':
      return runHashChain(workload.seed, workload.iterations);
    case 'matmul':
      return runMatmul(workload.seed, workload.size);
    case 'command':
      throw new Error('command workloads run in the provider runtime');
  }
}

export const resultHashOf = (output: string): `0x${string}` => hex32(sha256(output));

/** Checks a submitted result against the workload by recomputing it. */
export function verifyWorkloadResult(workload: Workload, submitted: { output: string; resultHash: string; proofHash: string }): Verification {
  if (resultHashOf(submitted.output) !== submitted.resultHash.toLowerCase())
    return { ok: false, code: 'RESULT_HASH_MISMATCH', reason: 'resultHash is not sha256(output)' };
  if (workload.kind === 'command') return { ok: true }; // not recomputable: the signed hash is the record
  const expected = runBuiltInWorkload(workload);
  if (expected.resultHash !== submitted.resultHash.toLowerCase()) return { ok: false, code: 'RESULT_WRONG', reason: 'recomputed result differs' };
  if (expected.proofHash !== submitted.proofHash.toLowerCase()) return { ok: false, code: 'PROOF_WRONG', reason: 'recomputed proof differs' };
  return { ok: true };
}
