import { DomainError } from '@starminer/domain';
import { DEFAULT_ENGINE_CONFIG, priceWeiPerGpuHour } from '@starminer/matching';
import { decodeCursor, encodeCursor, priceBoard, surgeOf } from './prices';

const pricing = DEFAULT_ENGINE_CONFIG.pricing;
const at = new Date('2026-11-24T12:00:00Z');

describe('the price board', () => {
  it('given supply and one price move, then every market shows base, tier and utilization terms, unmoved ones at 1.0', () => {
    const { rows, next } = priceBoard(
      [{ gpuModel: 'T4', region: 'eu' }, { gpuModel: 'A100', region: 'us' }, { gpuModel: 'T4', region: 'eu' }],
      [{ gpuModel: 'A100', region: 'us', multiplierBps: 11_500, utilizationBps: 9_000, smoothedUtilizationBps: 8_700, changedAt: at }],
      pricing,
      { limit: 10 },
    );
    expect(next).toBeNull();
    expect(rows.map((r) => [r.gpuModel, r.region, r.utilizationMultiplierBps])).toEqual([
      ['A100', 'us', 11_500],
      ['T4', 'eu', 10_000],
    ]);
    const a100 = rows[0]!;
    expect(a100).toMatchObject({ basePriceWeiPerGpuHour: pricing.basePricesWeiPerGpuHour.A100!.toString(), utilizationBps: 9_000, changedAt: at.toISOString() });
    expect(a100.tiers).toEqual([
      { tier: 'priority', urgencies: ['high', 'critical'], tierMultiplierBps: 13_000, priceWeiPerGpuHour: priceWeiPerGpuHour(pricing.basePricesWeiPerGpuHour.A100!, 13_000, 11_500).toString() },
      { tier: 'standard', urgencies: ['normal'], tierMultiplierBps: 10_000, priceWeiPerGpuHour: priceWeiPerGpuHour(pricing.basePricesWeiPerGpuHour.A100!, 10_000, 11_500).toString() },
      { tier: 'economy', urgencies: ['low'], tierMultiplierBps: 8_500, priceWeiPerGpuHour: priceWeiPerGpuHour(pricing.basePricesWeiPerGpuHour.A100!, 8_500, 11_500).toString() },
    ]);
    expect(rows[1]).toMatchObject({ utilizationBps: null, changedAt: null });
  });

  it('given markets in surge, then their rows show since when, every other row null, and a surge alone puts no market on the board', () => {
    const since = new Date('2026-11-24T11:55:00Z');
    const { rows } = priceBoard(
      [{ gpuModel: 'T4', region: 'eu' }, { gpuModel: 'A100', region: 'us' }],
      [{ gpuModel: 'A100', region: 'us', multiplierBps: 11_500, utilizationBps: 9_000, smoothedUtilizationBps: 8_700, changedAt: at }],
      pricing,
      { limit: 10 },
      [
        { gpuModel: 'A100', region: 'us', since },
        { gpuModel: 'A100', region: 'nowhere', since },
      ],
    );
    expect(rows.map((r) => [r.gpuModel, r.region, r.surge])).toEqual([
      ['A100', 'us', { sinceAt: '2026-11-24T11:55:00.000Z' }],
      ['T4', 'eu', null],
    ]);
    expect(surgeOf(null)).toBeNull();
    expect(surgeOf(undefined)).toBeNull();
  });

  it('given a class with no base price, then it is not on the board', () => {
    expect(priceBoard([{ gpuModel: 'H900', region: 'eu' }], [], pricing, { limit: 10 }).rows).toEqual([]);
  });

  it('given more markets than a page, when paged by cursor, then each market comes once, in (gpuModel, region) order', () => {
    const supply = ['us', 'eu', 'asia'].flatMap((region) => ['T4', 'A10', 'A100'].map((gpuModel) => ({ gpuModel, region })));
    const seen: string[] = [];
    let after: { gpuModel: string; region: string } | undefined;
    for (;;) {
      const { rows, next } = priceBoard(supply, [], pricing, { limit: 4, after });
      seen.push(...rows.map((r) => `${r.gpuModel} ${r.region}`));
      if (!next) break;
      after = decodeCursor(encodeCursor(next));
    }
    expect(seen).toEqual(['A10 asia', 'A10 eu', 'A10 us', 'A100 asia', 'A100 eu', 'A100 us', 'T4 asia', 'T4 eu', 'T4 us']);
  });

  it('given a cursor it never gave, then it refuses with BAD_CURSOR', () => {
    for (const bad of ['not-a-cursor', Buffer.from('[1,2]').toString('base64url'), Buffer.from('{}').toString('base64url')]) {
      expect(() => decodeCursor(bad)).toThrow(expect.objectContaining({ code: 'BAD_CURSOR' }));
      expect(() => decodeCursor(bad)).toThrow(DomainError);
    }
  });
});
