import { priceTermRows, receiptTerms } from './receipt';

// as the engine writes them: each term already weighted (weight × factor), total their sum
const score = { priceFit: 0.3, headroom: 0.05, reputation: 0.18, total: 0.53 };

describe('receiptTerms', () => {
  it("takes each score term as its contribution (the engine's, already weighted) and shows the factor behind it, for the winner and the runner-up", () => {
    const b = receiptTerms({
      weights: { priceFit: 0.3, headroom: 0.1, reputation: 0.2 },
      winner: { nodeId: 'n1', gpuModel: 'H100', region: 'eu-west', gpuCount: 1, score },
      runnerUp: { nodeId: 'n2', gpuModel: 'H100', region: 'eu-west', gpuCount: 1, score: { priceFit: 0.15, headroom: 0.1, reputation: 0.1, total: 0.35 } },
    });
    expect(b.rows.map((r) => r.term)).toEqual(['priceFit', 'headroom', 'reputation']);
    expect(b.rows[0]).toMatchObject({ label: 'Price fit', weight: 0.3, winnerContribution: 0.3, runnerUpContribution: 0.15 });
    expect(b.rows[0].winnerScore).toBeCloseTo(1);
    expect(b.rows[0].runnerUpScore).toBeCloseTo(0.5);
    expect(b.rows[1].winnerScore).toBeCloseTo(0.5);
    expect(b.rows[1].runnerUpScore).toBeCloseTo(1);
    // the contributions add up to the total the engine compared
    expect(b.rows.reduce((n, r) => n + (r.winnerContribution ?? 0), 0)).toBeCloseTo(b.winnerTotal!);
    expect(b.winnerTotal).toBe(0.53);
    expect(b.runnerUpTotal).toBe(0.35);
  });
  it('shows score terms without a weight, and no runner-up', () => {
    const b = receiptTerms({ weights: { priceFit: 0.3 }, winner: { nodeId: 'n1', gpuModel: 'H100', region: 'eu-west', gpuCount: 1, score }, runnerUp: null });
    expect(b.rows.map((r) => [r.term, r.weight])).toEqual([
      ['priceFit', 0.3],
      ['headroom', 0],
      ['reputation', 0],
    ]);
    expect(b.rows[0].runnerUpScore).toBeNull();
    expect(b.runnerUpTotal).toBeNull();
  });
});

describe('priceTermRows', () => {
  it('writes each term of the price', () => {
    const rows = priceTermRows({
      gpuModel: 'H100',
      region: 'eu-west',
      tier: 'standard',
      basePriceWeiPerGpuHour: '2000000000000000000',
      tierMultiplierBps: 10_000,
      utilizationMultiplierBps: 12_500,
      priceWeiPerGpuHour: '2500000000000000000',
      gpuCount: 2,
      runtimeSec: 1800,
      costWei: '2500000000000000001',
    });
    const byLabel = Object.fromEntries(rows.map((r) => [r.label, r]));
    expect(byLabel['Utilization multiplier'].value).toBe('×1.25');
    expect(byLabel['Price per GPU-hour'].value).toBe('2.5 AGPU/GPU-h');
    expect(byLabel['Runtime'].value).toBe('30 min');
    expect(byLabel['Cost'].exact).toBe('2.500000000000000001');
  });
});
