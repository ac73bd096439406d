import { createHash } from 'node:crypto';
import type { Workload } from '@starminer/events';
import { HASH_CHAIN_CHECKPOINTS, resultHashOf, runBuiltInWorkload, runHashChain, runMatmul, verifyWorkloadResult, type WorkloadResult } from './workloads';

const sha256 = (data: string | Uint8Array): Buffer => createHash('sha256').update(data).digest();
const hex = (b: Buffer): string => `0x${b.toString('hex')}`;

/** Flips the last hex digit: a tampered value of the same shape. */
const tamper = (value: string): string => value.slice(0, -1) + (value.endsWith('0') ? '1' : '0');

const HASH_CHAIN: Workload = { kind: 'hash-chain', seed: 'starminer', iterations: 100 };
const MATMUL: Workload = { kind: 'matmul', seed: 'starminer', size: 8 };

/**
 * Golden values: provider and settlement must compute the same bytes across versions and machines,
 * so a change here is a breaking change of the workload, never a refactor.
 */
const GOLDEN = {
  hashChain: {
    output: 'badb726643ee255c10bf49512ad2e447c7c1144121111af846c708c67e0e703d',
    resultHash: '0x200b42b855c825192fb1f67194d6f118a66af1d34cba9a3f5a85c58ec49ee809',
    proofHash: '0x8e246b614a741792dd928956de5caeae9dd875f92a4114c5deba666ea5a15276',
  },
  matmul: {
    output: 'd4670081c36b6b8d3141d8c405111370672f2301c408a69e0a6c344b922fe20d',
    resultHash: '0x29f9c14ef2e05bbcb70e3f8a38d67273c16349f599979f61e230334c33759639',
    proofHash: '0x35e43fb9c9f3abb5e312220a69681ca24e73f95265705dc6fcb5348a933bfc7a',
  },
} satisfies Record<string, WorkloadResult>;

/** A plain re-reading of the hash-chain rule: h0 = sha256(seed), h_i = sha256(h_{i-1}), checkpoints every ceil(n/16) and at n. */
function referenceHashChain(seed: string, iterations: number): { output: string; checkpoints: Buffer[] } {
  const every = Math.max(1, Math.ceil(iterations / HASH_CHAIN_CHECKPOINTS));
  const checkpoints: Buffer[] = [];
  let h = sha256(seed);
  for (let i = 1; i <= iterations; i += 1) {
    h = sha256(h);
    if (i % every === 0 || i === iterations) checkpoints.push(h);
  }
  return { output: h.toString('hex'), checkpoints };
}

/** A plain i-j-k product of the same xorshift32 matrices, without the zero-skip of the real loop. */
function referenceMatmul(seed: string, size: number): { c: Float64Array; rowSums: Float64Array } {
  const matrix = (tag: string): number[] => {
    let x = sha256(`${tag}:${seed}`).readUInt32BE(0) || 1;
    return Array.from({ length: size * size }, () => {
      x = (x ^ (x << 13)) >>> 0;
      x = (x ^ (x >>> 17)) >>> 0;
      x = (x ^ (x << 5)) >>> 0;
      return x & 0xff;
    });
  };
  const a = matrix('A');
  const b = matrix('B');
  const c = new Float64Array(size * size);
  const rowSums = new Float64Array(size);
  for (let i = 0; i < size; i += 1) {
    for (let j = 0; j < size; j += 1) {
      let s = 0;
      for (let k = 0; k < size; k += 1) s += a[i * size + k] * b[k * size + j];
      c[i * size + j] = s;
      rowSums[i] += s;
    }
  }
  return { c, rowSums };
}

describe('hash-chain workload', () => {
  it('gives the golden result for a fixed seed', () => {
    expect(runHashChain('starminer', 100)).toEqual(GOLDEN.hashChain);
  });

  it('is deterministic', () => {
    expect(runHashChain('seed-x', 1234)).toEqual(runHashChain('seed-x', 1234));
  });

  it.each([1, 15, 16, 17, 100, 1000])('agrees with a plain re-reading of the rule for %i iterations', (iterations) => {
    const ref = referenceHashChain('abc', iterations);
    const got = runHashChain('abc', iterations);
    expect(got.output).toBe(ref.output);
    expect(got.resultHash).toBe(hex(sha256(ref.output)));
    expect(got.proofHash).toBe(hex(sha256(Buffer.concat(ref.checkpoints))));
    expect(ref.checkpoints.length).toBeLessThanOrEqual(HASH_CHAIN_CHECKPOINTS + 1);
  });

  it('one iteration is sha256(sha256(seed))', () => {
    expect(runHashChain('abc', 1).output).toBe(sha256(sha256('abc')).toString('hex'));
  });

  it('depends on the seed and on the number of iterations', () => {
    const base = runHashChain('abc', 50);
    expect(runHashChain('abd', 50).output).not.toBe(base.output);
    expect(runHashChain('abc', 51).output).not.toBe(base.output);
    expect(runHashChain('abc', 51).proofHash).not.toBe(base.proofHash);
  });

  it('hashes are 0x-prefixed 32 bytes of lowercase hex, and resultHash is sha256(output)', () => {
    const r = runHashChain('abc', 10);
    expect(r.resultHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(r.proofHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(r.resultHash).toBe(resultHashOf(r.output));
  });
});

describe('matmul workload', () => {
  it('gives the golden result for a fixed seed', () => {
    expect(runMatmul('starminer', 8)).toEqual(GOLDEN.matmul);
  });

  it('is deterministic', () => {
    expect(runMatmul('seed-x', 16)).toEqual(runMatmul('seed-x', 16));
  });

  it.each([1, 2, 7, 32])('agrees with a plain i-j-k product for size %i', (size) => {
    const ref = referenceMatmul('abc', size);
    const got = runMatmul('abc', size);
    const output = sha256(Buffer.from(ref.c.buffer)).toString('hex');
    expect(got.output).toBe(output);
    expect(got.resultHash).toBe(hex(sha256(output)));
    expect(got.proofHash).toBe(hex(sha256(Buffer.from(ref.rowSums.buffer))));
  });

  it('depends on the seed and on the size', () => {
    const base = runMatmul('abc', 8);
    expect(runMatmul('abd', 8).output).not.toBe(base.output);
    expect(runMatmul('abc', 9).output).not.toBe(base.output);
  });

  it('resultHash is sha256(output)', () => {
    const r = runMatmul('abc', 4);
    expect(r.resultHash).toBe(resultHashOf(r.output));
    expect(r.proofHash).toMatch(/^0x[0-9a-f]{64}$/);
  });
});

describe('runBuiltInWorkload', () => {
  it('runs hash-chain and matmul by their parameters', () => {
    expect(runBuiltInWorkload(HASH_CHAIN)).toEqual(GOLDEN.hashChain);
    expect(runBuiltInWorkload(MATMUL)).toEqual(GOLDEN.matmul);
  });

  it('does not run command workloads', () => {
    expect(() => runBuiltInWorkload({ kind: 'command', command: ['echo', 'hi'] })).toThrow(/provider runtime/);
  });
});

describe('verifyWorkloadResult', () => {
  describe.each<[string, Workload, WorkloadResult]>([
    ['hash-chain', HASH_CHAIN, GOLDEN.hashChain],
    ['matmul', MATMUL, GOLDEN.matmul],
  ])('%s', (_kind, workload, honest) => {
    it('accepts the honest result', () => {
      expect(verifyWorkloadResult(workload, honest)).toEqual({ ok: true });
    });

    it('accepts hashes in upper case hex', () => {
      const upper = { ...honest, resultHash: `0x${honest.resultHash.slice(2).toUpperCase()}`, proofHash: `0x${honest.proofHash.slice(2).toUpperCase()}` };
      expect(verifyWorkloadResult(workload, upper)).toEqual({ ok: true });
    });

    it('rejects a tampered output whose resultHash no longer matches', () => {
      expect(verifyWorkloadResult(workload, { ...honest, output: tamper(honest.output) })).toMatchObject({ ok: false, code: 'RESULT_HASH_MISMATCH' });
    });

    it('rejects a tampered resultHash', () => {
      expect(verifyWorkloadResult(workload, { ...honest, resultHash: tamper(honest.resultHash) })).toMatchObject({ ok: false, code: 'RESULT_HASH_MISMATCH' });
    });

    it('rejects a wrong output even when resultHash is consistent with it', () => {
      const output = tamper(honest.output);
      expect(verifyWorkloadResult(workload, { ...honest, output, resultHash: resultHashOf(output) })).toMatchObject({ ok: false, code: 'RESULT_WRONG' });
    });

    it('rejects a tampered proofHash', () => {
      expect(verifyWorkloadResult(workload, { ...honest, proofHash: tamper(honest.proofHash) })).toMatchObject({ ok: false, code: 'PROOF_WRONG' });
    });

    it("rejects another job's honest result", () => {
      const other = runBuiltInWorkload({ ...workload, seed: 'someone-else' } as Workload);
      expect(verifyWorkloadResult(workload, other)).toMatchObject({ ok: false, code: 'RESULT_WRONG' });
    });
  });

  describe('command', () => {
    const command: Workload = { kind: 'command', command: ['python', 'train.py'] };

    it('accepts any output whose resultHash is sha256(output): the signed hash is the record', () => {
      expect(verifyWorkloadResult(command, { output: 'loss=0.1', resultHash: resultHashOf('loss=0.1'), proofHash: `0x${'00'.repeat(32)}` })).toEqual({ ok: true });
    });

    it('rejects a resultHash that is not sha256(output)', () => {
      expect(verifyWorkloadResult(command, { output: 'loss=0.1', resultHash: resultHashOf('loss=0.2'), proofHash: `0x${'00'.repeat(32)}` })).toMatchObject({
        ok: false,
        code: 'RESULT_HASH_MISMATCH',
      });
    });
  });
});
