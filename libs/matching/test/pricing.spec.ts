import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  basePricesFromSkypilotRows,
  costWei,
  DEFAULT_ENGINE_CONFIG,
  marketKey,
  MatchingEngine,
  nextPriceState,
  parseCsv,
  SEEDED_BASE_PRICES_WEI_PER_GPU_HOUR,
  targetMultiplierBps,
  usdToWei,
  type EngineConfig,
  type SkypilotPriceRow,
} from '../src';
import { HOUR_SEC, job, node, WEI } from './fixtures';

const pricing = DEFAULT_ENGINE_CONFIG.pricing;
const noSmoothing: EngineConfig = { ...DEFAULT_ENGINE_CONFIG, pricing: { ...pricing, smoothingBps: 10_000 } };

describe('Multi-Tier Pricing: tiers', () => {
  it.each([
    ['critical', 'priority', 13_000],
    ['high', 'priority', 13_000],
    ['normal', 'standard', 10_000],
    ['low', 'economy', 8_500],
  ] as const)('given urgency %s, when matched, then the quote is in tier %s at %i bps over base', (urgency, tier, bps) => {
    const e = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
    e.upsertNode(node({ nodeId: 'a' }), 0);
    e.submitJob(job({ jobId: 'j', urgency }));
    const [m] = e.matchPending(0, 1);
    const base = pricing.basePricesWeiPerGpuHour.T4!;
    expect(m!.quote).toMatchObject({ tier, tierMultiplierBps: bps, basePriceWeiPerGpuHour: base, priceWeiPerHour: (base * BigInt(bps)) / 10_000n });
  });

  it('given a price per hour and a runtime, then the cost is rounded up to the Wei (never under the hourly rate)', () => {
    expect(costWei(3_600n, 1)).toBe(1n);
    expect(costWei(3_601n, 1)).toBe(2n);
    expect(costWei(7n * WEI, HOUR_SEC / 2)).toBe(35n * 10n ** 17n);
  });
});

describe('Multi-Tier Pricing: utilization multiplier', () => {
  it('given smoothed utilization at target, then the target multiplier is 1.0', () => {
    expect(targetMultiplierBps(pricing.targetUtilizationBps, pricing)).toBe(10_000);
  });

  it('given full utilization, when one tick passes, then utilization is smoothed and the multiplier moves by at most one step', () => {
    const next = nextPriceState({ multiplierBps: 10_000, smoothedUtilizationBps: 0 }, 10_000, pricing);
    expect(next.smoothedUtilizationBps).toBe(3_000); // alpha 0.3
    expect(next.multiplierBps).toBe(10_000 - pricing.maxStepBps); // target 10000 + (3000-7000)*1.5 = 4000 → floor 5000, one step down
  });

  it('given sustained full utilization, when many ticks pass, then the multiplier rises step by step to its target and stays in band', () => {
    let s = { multiplierBps: 10_000, smoothedUtilizationBps: 10_000 };
    const seen: number[] = [];
    for (let i = 0; i < 50; i++) {
      const n = nextPriceState(s, 10_000, pricing);
      expect(Math.abs(n.multiplierBps - s.multiplierBps)).toBeLessThanOrEqual(pricing.maxStepBps);
      s = n;
      seen.push(s.multiplierBps);
    }
    expect(seen[0]).toBe(10_500);
    expect(s.multiplierBps).toBe(targetMultiplierBps(10_000, pricing)); // 14500
  });

  it('given an idle market for long, then the price falls to the band floor and no lower', () => {
    let s = { multiplierBps: 10_000, smoothedUtilizationBps: 0 };
    for (let i = 0; i < 100; i++) s = nextPriceState(s, 0, pricing);
    expect(s.multiplierBps).toBe(pricing.minMultiplierBps);
  });

  it('given a busy market, when repriceTick runs, then it emits a PriceChange and the next match is quoted at the new multiplier', () => {
    const e = new MatchingEngine(noSmoothing);
    e.upsertNode(node({ nodeId: 'a', gpuCount: 8 }), 0);
    e.recordMatch({ jobId: 'fill', nodeId: 'a', gpuCount: 7, atMs: 0 });
    const changes = e.repriceTick(0);
    expect(changes).toEqual([
      { gpuClass: 'T4', region: 'eu-west', atMs: 0, previousMultiplierBps: 10_000, multiplierBps: 10_500, utilizationBps: 8_750, smoothedUtilizationBps: 8_750 },
    ]);
    e.submitJob(job({ jobId: 'j' }));
    const [m] = e.matchPending(1, 1);
    expect(m!.quote.utilizationMultiplierBps).toBe(10_500);
    // the price of a match is fixed at match time: a later move does not touch it
    e.repriceTick(60_000);
    expect(m!.quote.utilizationMultiplierBps).toBe(10_500);
  });

  it('given a tick sooner than the reprice interval, then nothing moves', () => {
    const e = new MatchingEngine(noSmoothing);
    e.upsertNode(node({ nodeId: 'a' }), 0);
    e.recordMatch({ jobId: 'fill', nodeId: 'a', gpuCount: 1, atMs: 0 });
    expect(e.repriceTick(0)).toHaveLength(1);
    expect(e.repriceTick(pricing.repriceIntervalMs - 1)).toEqual([]);
    expect(e.repriceTick(pricing.repriceIntervalMs)).toHaveLength(1);
  });

  it('given the PriceChange events of one engine, when another engine applies them, then both quote the same', () => {
    const a = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
    const b = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
    for (const e of [a, b]) e.upsertNode(node({ nodeId: 'n', gpuCount: 4 }), 0);
    a.recordMatch({ jobId: 'x', nodeId: 'n', gpuCount: 4, atMs: 0 });
    for (let t = 0; t < 10; t++) for (const c of a.repriceTick(t * 60_000)) b.applyPriceChange(c);
    expect(b.marketState('T4', 'eu-west')).toMatchObject({
      multiplierBps: a.marketState('T4', 'eu-west')!.multiplierBps,
      smoothedUtilizationBps: a.marketState('T4', 'eu-west')!.smoothedUtilizationBps,
    });
    expect(a.marketState('T4', 'eu-west')!.multiplierBps).toBeGreaterThan(10_000);
  });

  it('given partitioned matching, when a tick runs, then only the markets this replica may route move; the others keep the price the log gave', () => {
    const e = new MatchingEngine(noSmoothing);
    e.upsertNode(node({ nodeId: 'a', gpuCount: 8 }), 0);
    e.upsertNode(node({ nodeId: 'b', gpuCount: 8, region: 'us-east' }), 0);
    e.recordMatch({ jobId: 'fill-a', nodeId: 'a', gpuCount: 7, atMs: 0 });
    e.recordMatch({ jobId: 'fill-b', nodeId: 'b', gpuCount: 7, atMs: 0 });
    const held = marketKey('T4', 'eu-west');
    expect(e.repriceTick(0, (key) => key === held).map((c) => c.region)).toEqual(['eu-west']);
    expect(e.marketState('T4', 'us-east')!.multiplierBps).toBe(10_000);
    expect(e.marketState('T4', 'eu-west')!.multiplierBps).toBe(10_500);
  });

  it('given a PriceChange outside the band, when applied, then it is refused', () => {
    const e = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
    expect(() =>
      e.applyPriceChange({ gpuClass: 'T4', region: 'x', atMs: 0, previousMultiplierBps: 10_000, multiplierBps: 99_999, utilizationBps: 0, smoothedUtilizationBps: 0 }),
    ).toThrow(expect.objectContaining({ code: 'invariant-violation' }));
  });
});

describe('Multi-Tier Pricing: seeding from the public GPU rental catalogue', () => {
  it('given "1.80" USD, then it is exactly 1.8e18 Wei (1 AGPU = 1 USD)', () => {
    expect(usdToWei('1.80')).toBe(18n * 10n ** 17n);
    expect(usdToWei('0.000000000000000001')).toBe(1n);
  });

  it('given offers of 1 and 2 GPUs, then the base is the median price per GPU-hour', () => {
    const rows: SkypilotPriceRow[] = [
      { AcceleratorName: 'X', AcceleratorCount: '1', Price: '1.00' },
      { AcceleratorName: 'X', AcceleratorCount: '2', Price: '3.00' },
      { AcceleratorName: 'X', AcceleratorCount: '4', Price: '8.00' },
      { AcceleratorName: '', AcceleratorCount: '1', Price: '9.00' },
    ];
    expect(basePricesFromSkypilotRows(rows)).toEqual({ X: usdToWei('1.5') });
  });

  it('given the real SkyPilot vast catalogue, then the seeded defaults are its medians', () => {
    const text = readFileSync(join(__dirname, '../../../../shared/data/traces/skypilot_catalog_v7_vast_vms.csv'), 'utf8');
    const rows = parseCsv(text) as unknown as SkypilotPriceRow[];
    expect(rows).toHaveLength(61);
    expect(basePricesFromSkypilotRows(rows)).toEqual(SEEDED_BASE_PRICES_WEI_PER_GPU_HOUR);
  });
});
