import { alternativeValue, priceLine, quoteText, waitLine, type PriceTermsView } from './quote-format';

const AGPU = 10n ** 18n;
const terms = (over: Partial<PriceTermsView> = {}): PriceTermsView => ({
  gpuModel: 'H100',
  region: 'eu-west',
  tier: 'standard',
  basePriceWeiPerGpuHour: (2n * AGPU).toString(),
  tierMultiplierBps: 10_000,
  utilizationMultiplierBps: 12_500,
  priceWeiPerGpuHour: (25n * AGPU / 10n).toString(),
  gpuCount: 1,
  runtimeSec: 3600,
  costWei: (25n * AGPU / 10n).toString(),
  ...over,
});

describe('quote formatting', () => {
  it('a feasible quote: the price and its terms, the cost, the node, the wait, the markets', () => {
    const text = quoteText({
      feasible: true,
      price: terms(),
      nodeId: 'node-a',
      markets: [{ price: terms(), nodesEligible: 2, nodesFree: 1, freeGpus: 1 }],
      marketsTotal: 3,
      expectedWaitSec: 2,
      waitBasis: 'free-capacity-now',
      queuedAhead: 0,
      reasons: [],
      nearest: [],
    });
    expect(text).toBe(
      [
        'feasible  yes',
        'price     2.5 AGPU per GPU-hour (H100 eu-west, standard: base 2 AGPU x1 tier x1.25 utilization)',
        'cost      2.5 AGPU (1 GPU for 1h)',
        'node      node-a',
        'wait      about 2s (free capacity now)',
        '',
        'markets that could run it (the 1 cheapest of 3):',
        'GPU   REGION   TIER      PRICE/GPU-H  COST      NODES  FREE  FREE GPUS',
        'H100  eu-west  standard  2.5 AGPU     2.5 AGPU  2      1     1',
      ].join('\n'),
    );
  });

  it('an infeasible quote: why not, and the nearest options with the budget in AGPU', () => {
    const text = quoteText({
      feasible: false,
      price: null,
      nodeId: null,
      markets: [],
      expectedWaitSec: null,
      waitBasis: 'not-feasible',
      reasons: [{ code: 'budget-below-price', message: 'the cheapest market costs 2.5 AGPU, above the budget of 1 AGPU' }],
      nearest: [{ change: 'budget', value: (25n * AGPU / 10n).toString(), price: terms(), nodeId: 'node-a' }],
    });
    expect(text).toBe(
      [
        'feasible  no',
        'price     -',
        'wait      unknown (not feasible)',
        '',
        'why not now:',
        '  budget-below-price: the cheapest market costs 2.5 AGPU, above the budget of 1 AGPU',
        '',
        'nearest options:',
        'CHANGE  TO        PRICE/GPU-H  COST      MARKET        NODE',
        'budget  2.5 AGPU  2.5 AGPU     2.5 AGPU  H100 eu-west  node-a',
      ].join('\n'),
    );
  });

  it('says the terms, the wait and each kind of nearest value in words', () => {
    expect(priceLine(terms({ gpuCount: 2 }))).toContain('2.5 AGPU per GPU-hour');
    expect(waitLine({ expectedWaitSec: 90, waitBasis: 'free-capacity-now', queuedAhead: 3 })).toBe('about 1m 30s (free capacity now), 3 queued ahead');
    expect(alternativeValue('region', 'us-east')).toBe('us-east');
    expect(alternativeValue('gpuModel', 'A100')).toBe('A100');
  });

  it("escapes control characters in the gateway's reasons", () => {
    const text = quoteText({ feasible: false, price: null, markets: [], expectedWaitSec: null, reasons: [{ code: 'no-supply', message: 'none\u001b[2J\nfeasible  yes' }], nearest: [] });
    expect(text).toContain('  no-supply: none\\x1b[2J\\nfeasible  yes');
    expect(text.match(/^feasible/gm)).toEqual(['feasible']);
  });
});
