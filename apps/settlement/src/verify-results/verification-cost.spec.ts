import { LIMITS, type Workload } from '@starminer/events';
import {
  defaultVerifyThreads,
  LIGHT_VERIFY_ESTIMATE_MS_MAX,
  VERIFY_BOUND_CAP_MS,
  VERIFY_BOUND_FLOOR_MS,
  VERIFY_BOUND_SLACK,
  VERIFY_THREADS_MAX,
  verificationCostOf,
} from './verification-cost';

const hashChain = (iterations: number): Workload => ({ kind: 'hash-chain', seed: 's', iterations });
const matmul = (size: number): Workload => ({ kind: 'matmul', seed: 's', size });

describe('verificationCostOf', () => {
  it('given the largest workloads the catalogue allows, then each is estimated within the hard cap, so a machine at the reference speed verifies it', () => {
    for (const w of [hashChain(LIMITS.hashChainIterationsMax), matmul(LIMITS.matmulSizeMax)]) {
      const cost = verificationCostOf(w);
      expect(cost.estimateMs).toBeLessThanOrEqual(VERIFY_BOUND_CAP_MS);
      expect(cost.boundMs).toBeLessThanOrEqual(VERIFY_BOUND_CAP_MS);
      expect(cost.boundMs).toBeGreaterThanOrEqual(cost.estimateMs);
    }
    expect(verificationCostOf(hashChain(LIMITS.hashChainIterationsMax))).toMatchObject({ lane: 'heavy', boundMs: VERIFY_BOUND_CAP_MS });
  });

  it('given a small or a non-recomputable workload, then the light lane and the floor bound', () => {
    for (const w of [hashChain(1000), matmul(16), { kind: 'command', command: ['run'] } as Workload]) {
      const cost = verificationCostOf(w);
      expect(cost.lane).toBe('light');
      expect(cost.estimateMs).toBeLessThanOrEqual(LIGHT_VERIFY_ESTIMATE_MS_MAX);
      expect(cost.boundMs).toBe(VERIFY_BOUND_FLOOR_MS);
    }
  });

  it('given a 10M-step hash chain (38 s on a loaded node), then the heavy lane and a bound of its estimate times the slack', () => {
    const cost = verificationCostOf(hashChain(10_000_000));
    expect(cost.lane).toBe('heavy');
    expect(cost.estimateMs).toBeGreaterThanOrEqual(38_000);
    expect(cost.boundMs).toBe(Math.ceil(cost.estimateMs * VERIFY_BOUND_SLACK));
  });

  it('grows with the workload and never falls below the floor', () => {
    let last = 0;
    for (const n of [1, 10_000, 100_000, 1_000_000, 10_000_000, LIMITS.hashChainIterationsMax]) {
      const { estimateMs, boundMs } = verificationCostOf(hashChain(n));
      expect(estimateMs).toBeGreaterThanOrEqual(last);
      expect(boundMs).toBeGreaterThanOrEqual(VERIFY_BOUND_FLOOR_MS);
      last = estimateMs;
    }
  });

  it('leaves one core to the event loop, at least one thread and at most the limit', () => {
    expect(defaultVerifyThreads(1)).toBe(1);
    expect(defaultVerifyThreads(2)).toBe(1);
    expect(defaultVerifyThreads(8)).toBe(7);
    expect(defaultVerifyThreads(256)).toBe(VERIFY_THREADS_MAX);
  });
});
