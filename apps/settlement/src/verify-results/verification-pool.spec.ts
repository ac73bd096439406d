import { Registry } from 'prom-client';
import { DomainError, resultHashOf, runBuiltInWorkload, verifyWorkloadResult } from '@starminer/domain';
import type { Workload } from '@starminer/events';
import { verificationCostOf, type VerificationCost } from './verification-cost';
import { VerificationPool } from './verification-pool';

const SMALL: Workload = { kind: 'hash-chain', seed: 'pool-spec', iterations: 1000 };
/** Seconds of recompute on any machine: what a heavy task that must still run when looked at needs. */
const LONG: Workload = { kind: 'hash-chain', seed: 'pool-spec-long', iterations: 20_000_000 };
const resultOf = (w: Workload) => runBuiltInWorkload(w);
/** A result whose hash is its output's, so the recompute runs to the end before it says RESULT_WRONG. */
const wrongOf = (output: string) => ({ output, resultHash: resultHashOf(output), proofHash: `0x${'00'.repeat(32)}` });
const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as DomainError);

describe('VerificationPool', () => {
  const pools: VerificationPool[] = [];
  const poolOf = (o: Partial<ConstructorParameters<typeof VerificationPool>[0]> = {}) => {
    const pool = new VerificationPool({ heavyThreads: 1, queueMax: 4, ...o });
    pools.push(pool);
    return pool;
  };
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.onModuleDestroy()));
  });

  it('given results of each kind, then each verdict is what verifyWorkloadResult says, computed on a worker thread', async () => {
    const pool = poolOf();
    const right = resultOf(SMALL);
    await expect(pool.verify('job-p1', SMALL, right)).resolves.toEqual({ ok: true });
    const wrong = { output: 'not it', resultHash: resultHashOf('not it'), proofHash: right.proofHash };
    await expect(pool.verify('job-p2', SMALL, wrong)).resolves.toEqual(verifyWorkloadResult(SMALL, wrong));
    await expect(pool.verify('job-p2', SMALL, wrong)).resolves.toMatchObject({ ok: false, code: 'RESULT_WRONG' });
    const matmul: Workload = { kind: 'matmul', seed: 'pool-spec', size: 16 };
    await expect(pool.verify('job-p3', matmul, resultOf(matmul))).resolves.toEqual({ ok: true });
    const command: Workload = { kind: 'command', image: 'starminer/agent', command: ['run'] };
    await expect(pool.verify('job-p4', command, { output: 'done', resultHash: resultHashOf('done'), proofHash: right.proofHash })).resolves.toEqual({ ok: true });
  });

  it('given a verification that runs past its bound, then VERIFICATION_TIMED_OUT (503, retry advice, nothing decided), and the lane verifies the next one', async () => {
    // the long one may run 200 ms; the next one its usual bound (a replaced thread takes a moment to load)
    const tight = (w: Workload): VerificationCost => ({ ...verificationCostOf(w), lane: 'heavy', ...(w === LONG ? { boundMs: 200 } : {}) });
    const pool = poolOf({ costOf: tight });
    const startedAt = Date.now();
    const err = await refusal(pool.verify('job-t1', LONG, wrongOf('long')));
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ code: 'VERIFICATION_TIMED_OUT', kind: 'unavailable', details: { boundMs: 200, retryAfterSec: expect.any(Number) } });
    expect(err!.details.retryAfterSec).toBeGreaterThanOrEqual(1);
    // stopped at its bound, not when the 20M-step recompute would have ended
    expect(Date.now() - startedAt).toBeLessThan(15_000);
    expect(pool.stats().heavy).toEqual({ threads: 1, active: 0, queued: 0 });
    // the terminated thread was replaced
    await expect(pool.verify('job-t2', SMALL, resultOf(SMALL))).resolves.toEqual({ ok: true });
  });

  it('given a heavy lane whose threads and queue are full, then VERIFICATION_BUSY at once, while the light lane still verifies; stopping answers the rest VERIFICATION_BUSY', async () => {
    const metrics = new Registry();
    const pool = poolOf({ heavyThreads: 1, queueMax: 1, metrics });
    expect(verificationCostOf(LONG).lane).toBe('heavy');
    const running = refusal(pool.verify('job-b1', LONG, wrongOf('b1')));
    const waiting = refusal(pool.verify('job-b2', LONG, wrongOf('b2')));
    expect(pool.stats().heavy).toEqual({ threads: 1, active: 1, queued: 1 });

    const full = await refusal(pool.verify('job-b3', LONG, wrongOf('b3')));
    expect(full).toMatchObject({ code: 'VERIFICATION_BUSY', kind: 'unavailable', details: { lane: 'heavy', retryAfterSec: expect.any(Number) } });
    expect(full!.details.retryAfterSec).toBeGreaterThanOrEqual(1);

    // the same submission again joins the verification under way instead of taking a place
    expect(pool.verify('job-b1', LONG, wrongOf('b1'))).toBe(pool.verify('job-b1', LONG, wrongOf('b1')));
    expect(pool.stats().heavy).toEqual({ threads: 1, active: 1, queued: 1 });

    // a small job is not behind the heavy ones
    await expect(pool.verify('job-b4', SMALL, resultOf(SMALL))).resolves.toEqual({ ok: true });
    expect(pool.stats().heavy.active).toBe(1);

    const text = await metrics.metrics();
    expect(text).toMatch(/starminer_verify_queue_depth\{lane="heavy"\} 1/);
    expect(text).toMatch(/starminer_verify_active\{lane="heavy"\} 1/);
    expect(text).toMatch(/starminer_verify_threads\{lane="light"\} 1/);
    expect(text).toMatch(/starminer_verify_total\{lane="heavy",outcome="busy"\} 1/);
    expect(text).toMatch(/starminer_verify_total\{lane="light",outcome="verified"\} 1/);

    await pool.onModuleDestroy();
    expect(await running).toMatchObject({ code: 'VERIFICATION_BUSY', message: expect.stringMatching(/stopping/) });
    expect(await waiting).toMatchObject({ code: 'VERIFICATION_BUSY', message: expect.stringMatching(/stopping/) });
    expect(await refusal(pool.verify('job-b5', SMALL, resultOf(SMALL)))).toMatchObject({ code: 'VERIFICATION_BUSY' });
  });
});
