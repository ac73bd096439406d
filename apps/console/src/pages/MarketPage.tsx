import { useId, useMemo, useState } from 'react';
import type { MarketPrice, MarketStats, PriceBoard, PriceCandleIntervalSec, PriceTier, StarMinerClient } from '@starminer/sdk';
import { useDark } from '../theme';
import { CANDLE_INTERVALS_SEC, PRICE_TIERS } from '../api';
import { axisName, axisStyle, baseOption, palette } from '../charts';
import { Chart } from '../components/Chart';
import { ErrorNote, Section, SurgeNote, TableWrap, Updated } from '../components/common';
import { formatAgpuExact, formatClock, formatDurationSec, formatMultiplierBps, formatPercentBps, formatTime, humanize, pricePerGpuHour } from '../format';
import { usePoll } from '../hooks';
import { surgeSummary } from '../surge';
import { candleChartData } from '../series';
import { useSession } from '../session';

const BOARD_REFRESH_MS = 5_000;
const HISTORY_REFRESH_MS = 10_000;
const STATS_REFRESH_MS = 3_000;
/** Price board pages read at most (100 markets each). */
const BOARD_PAGES_MAX = 5;
const CANDLES_IN_TABLE_MAX = 20;

async function readBoard(client: StarMinerClient, signal: AbortSignal): Promise<MarketPrice[]> {
  const markets: MarketPrice[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < BOARD_PAGES_MAX; i++) {
    const page: PriceBoard = await client.getPrices({ limit: 100, cursor, signal });
    markets.push(...page.markets);
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  return markets;
}

const marketKey = (m: { gpuModel: string; region: string }): string => `${m.gpuModel}/${m.region}`;

export function MarketPage() {
  const { publicClient } = useSession();
  const board = usePoll((signal) => readBoard(publicClient, signal), BOARD_REFRESH_MS, 'board');
  const queues = usePoll((signal) => publicClient.getQueues({ signal }), BOARD_REFRESH_MS, 'queues');
  const stats = usePoll((signal) => publicClient.getMarketStats({ signal }), STATS_REFRESH_MS, 'stats');
  const id = useId();

  const markets = board.data ?? [];
  const [picked, setPicked] = useState<string | undefined>();
  const [tier, setTier] = useState<PriceTier>('standard');
  const [intervalSec, setIntervalSec] = useState<PriceCandleIntervalSec>(60);
  const selected = markets.find((m) => marketKey(m) === picked) ?? markets[0];

  return (
    <>
      <h1>Market</h1>
      <Section id="market-board" title="Price board">
        <ErrorNote error={board.error} context="Prices could not be read" />
        {markets.length === 0 && !board.loading ? <p>No market has a price yet.</p> : null}
        {markets.length > 0 ? (
          <TableWrap label="Price board">
            <table>
              <caption>The price of one GPU-hour per market and tier (AGPU)</caption>
              <thead>
                <tr>
                  <th scope="col">GPU model</th>
                  <th scope="col">Region</th>
                  <th scope="col">Base price</th>
                  <th scope="col">Utilization</th>
                  <th scope="col">Multiplier</th>
                  {PRICE_TIERS.map((t) => (
                    <th scope="col" key={t}>
                      {humanize(t)}
                    </th>
                  ))}
                  <th scope="col">Changed</th>
                  <th scope="col">Surge</th>
                </tr>
              </thead>
              <tbody>
                {markets.map((m) => (
                  <tr key={marketKey(m)}>
                    <th scope="row">{m.gpuModel}</th>
                    <td>{m.region}</td>
                    <td title={`${formatAgpuExact(m.basePriceWeiPerGpuHour)} AGPU`}>{pricePerGpuHour(m.basePriceWeiPerGpuHour)}</td>
                    <td>{formatPercentBps(m.utilizationBps)}</td>
                    <td>{formatMultiplierBps(m.utilizationMultiplierBps)}</td>
                    {PRICE_TIERS.map((t) => {
                      const tp = m.tiers.find((x) => x.tier === t);
                      return <td key={t}>{tp ? pricePerGpuHour(tp.priceWeiPerGpuHour) : '—'}</td>;
                    })}
                    <td>{formatTime(m.changedAt)}</td>
                    <td>
                      <SurgeNote surge={m.surge} testId={`surge-${marketKey(m)}`} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        ) : null}
        {surgeSummary(markets) ? <p data-testid="surge-summary">{surgeSummary(markets)}</p> : null}
        <Updated at={board.at} />
      </Section>

      <Section id="market-history" title="Price history">
        <div className="controls">
          <div className="field">
            <label htmlFor={`${id}-market`}>Market (GPU model and region)</label>
            <select id={`${id}-market`} value={selected ? marketKey(selected) : ''} onChange={(e) => setPicked(e.target.value)} disabled={markets.length === 0}>
              {markets.length === 0 ? <option value="">No markets</option> : null}
              {markets.map((m) => (
                <option key={marketKey(m)} value={marketKey(m)}>
                  {m.gpuModel} in {m.region}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${id}-tier`}>Tier</label>
            <select id={`${id}-tier`} value={tier} onChange={(e) => setTier(e.target.value as PriceTier)}>
              {PRICE_TIERS.map((t) => (
                <option key={t} value={t}>
                  {humanize(t)}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${id}-interval`}>Candle interval</label>
            <select id={`${id}-interval`} value={intervalSec} onChange={(e) => setIntervalSec(Number(e.target.value) as PriceCandleIntervalSec)}>
              {CANDLE_INTERVALS_SEC.map((s) => (
                <option key={s} value={s}>
                  {formatDurationSec(s)}
                </option>
              ))}
            </select>
          </div>
        </div>
        {selected ? <Candles gpuModel={selected.gpuModel} region={selected.region} tier={tier} intervalSec={intervalSec} /> : <p className="muted">Pick a market to see its price over time.</p>}
      </Section>

      <div className="split">
        <Section id="market-queues" title="Queue depth">
          <ErrorNote error={queues.error} context="Queues could not be read" />
          {queues.data ? (
            <TableWrap label="Queue depth per category">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Category</th>
                    <th scope="col">Jobs queued</th>
                  </tr>
                </thead>
                <tbody>
                  {Object.entries(queues.data.queues).map(([category, depth]) => (
                    <tr key={category}>
                      <th scope="row">{humanize(category)}</th>
                      <td>{depth}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          ) : null}
        </Section>
        <Section id="market-supply" title="Supply">
          <ErrorNote error={stats.error} context="Market stats could not be read" />
          {stats.data ? <Supply stats={stats.data} /> : null}
        </Section>
      </div>
      <Section id="market-matches" title="Matches per second">{stats.data ? <Matches stats={stats.data} /> : <p className="muted">Loading…</p>}</Section>
    </>
  );
}

function Candles({ gpuModel, region, tier, intervalSec }: { gpuModel: string; region: string; tier: PriceTier; intervalSec: PriceCandleIntervalSec }) {
  const { publicClient } = useSession();
  const dark = useDark();
  const history = usePoll((signal) => publicClient.getPriceHistory({ gpuModel, region, tier, intervalSec, signal }), HISTORY_REFRESH_MS, `${gpuModel}/${region}/${tier}/${intervalSec}`);
  const candles = useMemo(() => history.data?.candles ?? [], [history.data]);
  const data = useMemo(() => candleChartData(candles), [candles]);
  const option = useMemo(() => {
    const p = palette(dark);
    return {
      ...baseOption(p),
      legend: { top: 0, textStyle: { color: p.text } },
      xAxis: { type: 'category', data: data.times.map(formatClock), ...axisStyle(p) },
      yAxis: [
        { type: 'value', scale: true, ...axisName(p, 'AGPU per GPU-hour'), ...axisStyle(p) },
        { type: 'value', scale: true, ...axisName(p, 'utilization ×', 'right'), ...axisStyle(p), splitLine: { show: false } },
      ],
      series: [
        { name: 'Price', type: 'candlestick', data: data.ohlc, itemStyle: { color: p.up, color0: p.down, borderColor: p.up, borderColor0: p.down } },
        { name: 'Utilization multiplier', type: 'line', yAxisIndex: 1, data: data.multiplier, showSymbol: false, lineStyle: { color: p.series[1] }, itemStyle: { color: p.series[1] } },
      ],
    };
  }, [data, dark]);
  const last = candles.length ? candles[candles.length - 1] : undefined;
  const label = `Price candles of ${gpuModel} in ${region}, ${tier} tier, ${formatDurationSec(intervalSec)} each: ${candles.length} candle(s)${
    last ? `, last close ${pricePerGpuHour(last.closeWeiPerGpuHour)}, utilization multiplier ${formatMultiplierBps(last.utilizationMultiplierBps)}` : ''
  }. The latest are in the table below.`;
  const recent = candles.slice(-CANDLES_IN_TABLE_MAX).reverse();
  return (
    <>
      <ErrorNote error={history.error} context="Price history could not be read" />
      <Chart label={label} option={option} height={320} testId="price-candles" />
      {last ? (
        <p>
          Last close <strong>{pricePerGpuHour(last.closeWeiPerGpuHour)}</strong>, utilization multiplier <strong>{formatMultiplierBps(last.utilizationMultiplierBps)}</strong>.
        </p>
      ) : history.data ? (
        <p className="muted">No price move in this market yet.</p>
      ) : null}
      {recent.length > 0 ? (
        <details>
          <summary>The latest {recent.length} candle(s) as numbers</summary>
          <TableWrap label="Latest price candles">
            <table>
              <thead>
                <tr>
                  <th scope="col">Start</th>
                  <th scope="col">Open</th>
                  <th scope="col">High</th>
                  <th scope="col">Low</th>
                  <th scope="col">Close</th>
                  <th scope="col">Utilization multiplier</th>
                </tr>
              </thead>
              <tbody>
                {recent.map((c) => (
                  <tr key={c.startAt}>
                    <td>{formatTime(c.startAt)}</td>
                    <td>{pricePerGpuHour(c.openWeiPerGpuHour)}</td>
                    <td>{pricePerGpuHour(c.highWeiPerGpuHour)}</td>
                    <td>{pricePerGpuHour(c.lowWeiPerGpuHour)}</td>
                    <td>{pricePerGpuHour(c.closeWeiPerGpuHour)}</td>
                    <td>{formatMultiplierBps(c.utilizationMultiplierBps)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        </details>
      ) : null}
      <Updated at={history.at} />
    </>
  );
}

function Supply({ stats }: { stats: MarketStats }) {
  if (stats.supply.length === 0) return <p>No node is registered.</p>;
  return (
    <>
      <TableWrap label="Supply by GPU model and region">
        <table>
          <thead>
            <tr>
              <th scope="col">GPU model</th>
              <th scope="col">Region</th>
              <th scope="col">Nodes online / registered</th>
              <th scope="col">GPUs online</th>
              <th scope="col">Surge</th>
            </tr>
          </thead>
          <tbody>
            {stats.supply.map((s) => (
              <tr key={marketKey(s)}>
                <th scope="row">{s.gpuModel}</th>
                <td>{s.region}</td>
                <td>
                  {s.nodesOnline} / {s.nodesRegistered}
                </td>
                <td>{s.gpusOnline}</td>
                <td>
                  <SurgeNote surge={s.surge} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <p className="muted small">As of {formatTime(stats.at)}.</p>
    </>
  );
}

function Matches({ stats }: { stats: MarketStats }) {
  const dark = useDark();
  const option = useMemo(() => {
    const p = palette(dark);
    return {
      ...baseOption(p),
      legend: { show: false },
      xAxis: { type: 'category', data: stats.matches.perSecond.map((s) => formatClock(s.at)), ...axisStyle(p) },
      yAxis: { type: 'value', minInterval: 1, ...axisName(p, 'matches'), ...axisStyle(p) },
      series: [{ name: 'Matches', type: 'bar', data: stats.matches.perSecond.map((s) => s.count) }],
    };
  }, [stats, dark]);
  const peak = stats.matches.perSecond.reduce((m, s) => Math.max(m, s.count), 0);
  const now = stats.matches.perSecond.length ? stats.matches.perSecond[stats.matches.perSecond.length - 1].count : 0;
  return (
    <>
      <p>
        <strong>{stats.matches.lastMinute}</strong> job(s) matched in the last minute; <strong>{now}</strong> this second, at most <strong>{peak}</strong> in one second.
      </p>
      <Chart label={`Jobs matched per second over the last minute: ${stats.matches.lastMinute} in all, at most ${peak} in one second.`} option={option} height={200} />
    </>
  );
}
