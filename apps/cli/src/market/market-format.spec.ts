import { pricesTable, queuesTable } from './market-format';

const AGPU = 10n ** 18n;

describe('market formatting', () => {
  it('prices: one row per market and tier, with the utilization that moves it', () => {
    const text = pricesTable([
      {
        gpuModel: 'H100',
        region: 'eu-west',
        basePriceWeiPerGpuHour: (2n * AGPU).toString(),
        utilizationMultiplierBps: 11_000,
        utilizationBps: 7_500,
        changedAt: '2026-11-24T12:00:00Z',
        tiers: [
          { tier: 'priority', urgencies: ['high', 'critical'], tierMultiplierBps: 15_000, priceWeiPerGpuHour: (33n * AGPU / 10n).toString() },
          { tier: 'standard', urgencies: ['normal'], tierMultiplierBps: 10_000, priceWeiPerGpuHour: (22n * AGPU / 10n).toString() },
        ],
      },
    ]);
    expect(text.split('\n')).toEqual([
      'GPU   REGION   TIER      URGENCIES      PRICE/GPU-H  BASE    UTILIZATION      CHANGED',
      'H100  eu-west  priority  high,critical  3.3 AGPU     2 AGPU  x1.1 (75% used)  2026-11-24 12:00:00Z',
      'H100  eu-west  standard  normal         2.2 AGPU     2 AGPU  x1.1 (75% used)  2026-11-24 12:00:00Z',
    ]);
  });

  it('queues: each category and its depth', () => {
    expect(queuesTable({ 'ai-training': 0, inference: 3 })).toBe('CATEGORY     QUEUED\nai-training  0\ninference    3');
  });
});
