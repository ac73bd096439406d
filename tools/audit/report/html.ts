import type { EChartsOption } from 'echarts';
import { numberText, type Cell, type Table } from './table';

/** Bars one chart draws (the largest first): a page stays readable; the tables and files hold every row. */
export const CHART_BARS_MAX = 40;
/** Lines the reputation chart draws (the nodes with the most changes). */
export const CHART_SERIES_MAX = 12;
/** Rows one HTML table shows; the CSV and Parquet files hold every row. */
export const HTML_TABLE_ROWS_MAX = 1_000;
const CHART_WIDTH_PX = 960;
const CHART_HEIGHT_PX = 380;

export interface ReportPage {
  readonly providers: Table;
  readonly orgs: Table;
  readonly reputation: Table;
  /** The window in words (`2026-11-01T00:00:00.000Z to 2026-12-01T00:00:00.000Z`). */
  readonly window: string;
  readonly eventsRead: number;
  /** When the report was written (from the edge), ISO-8601. */
  readonly writtenAt: string;
}

/** Escapes text for HTML content and attribute values (every string from the log goes through it). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

interface Chart {
  readonly id: string;
  readonly title: string;
  readonly note: string;
  readonly option: EChartsOption;
}

/**
 * The report as one self-contained page: charts rendered here by ECharts' server-side SVG
 * renderer (twice: a light and a dark theme, shown by prefers-color-scheme), the tables, and the
 * definitions of their columns. No script runs in it, and its Content-Security-Policy says so.
 */
export async function renderReportHtml(page: ReportPage): Promise<{ html: string; charts: number }> {
  // loaded here, not at the top: every audit command imports this module, and only report draws
  const echarts = await import('echarts');
  const render = (option: EChartsOption, theme: 'light' | 'dark'): string => {
    const chart = echarts.init(null, theme === 'dark' ? 'dark' : null, { renderer: 'svg', ssr: true, width: CHART_WIDTH_PX, height: CHART_HEIGHT_PX });
    try {
      chart.setOption({ animation: false, backgroundColor: 'transparent', ...option });
      return chart.renderToSVGString();
    } finally {
      chart.dispose();
    }
  };
  const charts = reportCharts(page);
  const figures = charts.map(
    (c) => `<figure id="${c.id}">
<figcaption><h3>${escapeHtml(c.title)}</h3><p>${escapeHtml(c.note)}</p></figcaption>
<div class="chart light">${render(c.option, 'light')}</div>
<div class="chart dark">${render(c.option, 'dark')}</div>
</figure>`,
  );
  const tables = [page.providers, page.orgs, page.reputation].map(tableHtml);
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>StarMiner market report: ${escapeHtml(page.window)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>StarMiner market report</h1>
<p>Window (by each event's occurredAt): <b>${escapeHtml(page.window)}</b>. Events read: ${page.eventsRead}. Written ${escapeHtml(page.writtenAt)}.</p>
<nav>${[...charts.map((c) => [c.id, c.title]), ...[page.providers, page.orgs, page.reputation].map((t) => [`table-${t.name}`, t.title])]
    .map(([id, title]) => `<a href="#${id}">${escapeHtml(title!)}</a>`)
    .join(' · ')}</nav>
</header>
<main>
<section><h2>Charts</h2>
${figures.join('\n')}
</section>
<section><h2>Tables</h2>
${tables.join('\n')}
</section>
</main>
</body>
</html>
`;
  return { html, charts: charts.length };
}

const STYLE = `
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1d2330; --muted: #5b6475; --line: #d8dce4; --head: #f3f5f8; }
@media (prefers-color-scheme: dark) { :root { --bg: #100c2a; --fg: #e4e6eb; --muted: #a3a9b6; --line: #343a4a; --head: #1b1838; } }
body { margin: 0 auto; max-width: 1100px; padding: 1.5rem; background: var(--bg); color: var(--fg); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 1.6rem; margin: 0 0 .4rem; } h2 { margin-top: 2rem; border-bottom: 1px solid var(--line); } h3 { margin: 0; font-size: 1.05rem; }
p, figcaption p { color: var(--muted); margin: .3rem 0; } nav a { color: inherit; }
figure { margin: 1.5rem 0; } .chart svg { max-width: 100%; height: auto; display: block; }
.chart.dark { display: none; }
@media (prefers-color-scheme: dark) { .chart.light { display: none; } .chart.dark { display: block; } }
.scroll { overflow-x: auto; } table { border-collapse: collapse; font-size: 12px; margin: .5rem 0 1rem; }
th, td { border: 1px solid var(--line); padding: 3px 6px; white-space: nowrap; } th { background: var(--head); text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; } dl { font-size: 12px; color: var(--muted); } dt { font-family: ui-monospace, monospace; color: var(--fg); }
`;

function tableHtml(t: Table): string {
  const shown = t.rows.slice(0, HTML_TABLE_ROWS_MAX);
  const more = t.rows.length > shown.length ? `<p>The first ${shown.length} of ${t.rows.length} rows; ${escapeHtml(t.name)}.csv and ${escapeHtml(t.name)}.parquet hold them all.</p>` : '';
  const head = t.columns.map((c) => `<th title="${escapeHtml(c.describe)}">${escapeHtml(c.name)}</th>`).join('');
  const body = shown
    .map((row) => `<tr>${row.map((cell) => (typeof cell === 'number' ? `<td class="n" title="${numberText(cell)}">${shortNumber(cell)}</td>` : `<td>${escapeHtml(cell ?? '')}</td>`)).join('')}</tr>`)
    .join('\n');
  const definitions = t.columns.map((c) => `<dt>${escapeHtml(c.name)}</dt><dd>${escapeHtml(c.describe)}</dd>`).join('');
  return `<section id="table-${escapeHtml(t.name)}"><h3>${escapeHtml(t.title)} (${t.rows.length} rows)</h3>${more}
<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table></div>
<details><summary>Columns</summary><dl>${definitions}</dl></details></section>`;
}

/** A number as the page shows it: integers whole, fractions to 6 significant digits (the title and the files hold it exactly). */
function shortNumber(n: number): string {
  return Number.isInteger(n) ? numberText(n) : numberText(Number(n.toPrecision(6)));
}

/** The value of column `name` in each row. */
function column(t: Table, name: string): Cell[] {
  const i = t.columns.findIndex((c) => c.name === name);
  if (i < 0) throw new Error(`table ${t.name} has no column ${name}`);
  return t.rows.map((r) => r[i]!);
}

const num = (c: Cell): number => (c === null ? 0 : typeof c === 'number' ? c : Number(c));
const nullable = (c: Cell): number | null => (c === null ? null : num(c));
const str = (c: Cell): string => (c === null ? '' : String(c));

/** Row indexes of the `max` largest by `by` (ties by position), in that order. */
function largest(values: readonly number[], max: number): number[] {
  return values
    .map((v, i) => [v, i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, max)
    .map(([, i]) => i);
}

const barAxes = (names: string[], yName: string): EChartsOption => ({
  grid: { left: 70, right: 24, top: 48, bottom: 90 },
  legend: { top: 8 },
  xAxis: { type: 'category', data: names, axisLabel: { rotate: names.length > 8 ? 35 : 0, interval: 0 } },
  yAxis: { type: 'value', name: yName },
});

function reportCharts(page: ReportPage): Chart[] {
  const p = page.providers;
  const providerIds = column(p, 'provider').map(str);
  const earned = column(p, 'earned_agpu').map(num);
  const top = largest(earned, CHART_BARS_MAX);
  const pick = <T>(values: readonly T[]): T[] => top.map((i) => values[i]!);
  const names = pick(providerIds);
  const of = (t: Table, n: number): string => (n > CHART_BARS_MAX ? `The ${CHART_BARS_MAX} of ${n} ${t === p ? 'providers' : 'orgs'} that earned or spent the most.` : '');
  const o = page.orgs;
  const orgCol = column(o, 'org').map(str);
  const spentCol = column(o, 'spent_agpu').map(num);
  const spentByOrg = new Map<string, number>();
  orgCol.forEach((org, i) => spentByOrg.set(org, (spentByOrg.get(org) ?? 0) + spentCol[i]!));
  const orgIds = [...spentByOrg.keys()];
  const topOrgs = largest(orgIds.map((id) => spentByOrg.get(id)!), CHART_BARS_MAX).map((i) => orgIds[i]!);
  const stacked = (by: 'category' | 'gpu_class'): EChartsOption => {
    const byCol = column(o, by).map(str);
    const sums = new Map<string, number>();
    byCol.forEach((k, i) => sums.set(`${k}\u0000${orgCol[i]}`, (sums.get(`${k}\u0000${orgCol[i]}`) ?? 0) + spentCol[i]!));
    return {
      ...barAxes(topOrgs, 'AGPU'),
      series: [...new Set(byCol)].sort().map((k) => ({ type: 'bar' as const, name: k, stack: 'spend', data: topOrgs.map((org) => sums.get(`${k}\u0000${org}`) ?? 0) })),
    };
  };
  const r = page.reputation;
  const repNodes = column(r, 'node').map(str);
  const changes = column(r, 'changes').map(num);
  const perNode = new Map<string, number>();
  repNodes.forEach((n, i) => perNode.set(n, (perNode.get(n) ?? 0) + changes[i]!));
  const nodeIds = [...perNode.keys()];
  const topNodes = largest(nodeIds.map((n) => perNode.get(n)!), CHART_SERIES_MAX).map((i) => nodeIds[i]!);
  const starts = column(r, 'bucket_start').map(str);
  const reps = column(r, 'reputation').map(num);
  return [
    {
      id: 'chart-earned',
      title: 'AGPU earned per provider',
      note: `ContractReleased amounts of each provider's jobs in the window. ${of(p, p.rows.length)}`,
      option: { ...barAxes(names, 'AGPU'), series: [{ type: 'bar', name: 'earned (AGPU)', data: pick(earned) }] },
    },
    {
      id: 'chart-jobs',
      title: 'Jobs per provider: released, refunded, disputes, slashes',
      note: 'Ended jobs by outcome; disputes are results the market rejected, slashes stake taken from the provider\'s nodes.',
      option: {
        ...barAxes(names, 'jobs'),
        series: (
          [
            ['released', 'jobs_released'],
            ['refunded', 'jobs_refunded'],
            ['disputes', 'disputes'],
            ['slashes', 'slashes'],
          ] as const
        ).map(([label, name]) => ({ type: 'bar' as const, name: label, data: pick(column(p, name).map(num)) })),
      },
    },
    {
      id: 'chart-success',
      title: 'Success rate per provider',
      note: 'Released / ended (released or refunded) in the window; no bar where no job ended.',
      option: { ...barAxes(names, '%'), yAxis: { type: 'value', name: '%', min: 0, max: 100 }, series: [{ type: 'bar', name: 'success rate (%)', data: pick(column(p, 'success_rate').map(nullable)).map((v) => (v === null ? null : v * 100)) }] },
    },
    {
      id: 'chart-runtime',
      title: 'Runtime against expected (p50, p95)',
      note: 'Runtime (JobStarted to ResultSubmitted) divided by the job\'s expectedRuntimeSec; the line at 1 is as expected.',
      option: {
        ...barAxes(names, 'runtime / expected'),
        // the axis always reaches 1, so the line at "as expected" shows however fast or slow the jobs ran
        yAxis: { type: 'value', name: 'runtime / expected', min: 0, max: ({ max }: { max: number }) => Math.max(1.1, max) },
        series: [
          { type: 'bar', name: 'p50', data: pick(column(p, 'runtime_vs_expected_p50').map(nullable)), markLine: { silent: true, symbol: 'none', data: [{ yAxis: 1 }] } },
          { type: 'bar', name: 'p95', data: pick(column(p, 'runtime_vs_expected_p95').map(nullable)) },
        ],
      },
    },
    {
      id: 'chart-gpu-hours',
      title: 'GPU-hours per provider',
      note: 'Runtime x the GPUs of each job, summed over the results submitted in the window.',
      option: { ...barAxes(names, 'GPU-hours'), series: [{ type: 'bar', name: 'GPU-hours', data: pick(column(p, 'gpu_hours').map(num)) }] },
    },
    { id: 'chart-spend-category', title: 'Spend per requester org, by category', note: `ContractReleased amounts of each org's jobs, AGPU. ${of(o, orgIds.length)}`, option: stacked('category') },
    { id: 'chart-spend-gpu', title: 'Spend per requester org, by GPU class', note: 'The GPU class is the GPU model of the node each job was matched to.', option: stacked('gpu_class') },
    {
      id: 'chart-reputation',
      title: 'Reputation over time',
      note: `The last reputation in each bucket, per node${nodeIds.length > CHART_SERIES_MAX ? `: the ${CHART_SERIES_MAX} of ${nodeIds.length} nodes whose reputation changed most` : ''}.`,
      option: {
        grid: { left: 70, right: 24, top: 48, bottom: 50 },
        legend: { top: 8, type: 'plain' },
        xAxis: { type: 'time' },
        yAxis: { type: 'value', name: 'reputation', min: 0, max: 1 },
        series: topNodes.map((node) => ({
          type: 'line' as const,
          name: node,
          step: 'end' as const,
          showSymbol: true,
          data: repNodes.flatMap((n, i) => (n === node ? [[starts[i]!, reps[i]!] as [string, number]] : [])),
        })),
      },
    },
  ];
}
