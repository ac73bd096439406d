import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';
import { CATEGORIES } from '@starminer/events';
import { createClient } from '@starminer/sdk';
import { jobRequest, OPERATOR_TOKEN, startMarket, type Market } from './market-harness';

const AGPU = 10n ** 18n;
const ROOT = join(__dirname, '..', '..', '..');
const ALERTS = ['StarminerProjectionStalled', 'StarminerParkedEvents', 'StarminerJobsStuckPastDeadline', 'StarminerChainUnreachable', 'StarminerHighErrorRate'];
const SERVICES = ['gateway', 'registry', 'intake', 'matching', 'deployer', 'settlement'] as const;

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * The series names a scrape declares (`# TYPE`), with a histogram's _bucket, _sum and _count: a
 * labelled counter not yet incremented has no sample but exists.
 */
function declaredNames(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/gm)) {
    out.push(m[1]);
    if (m[2] === 'histogram') out.push(`${m[1]}_bucket`, `${m[1]}_sum`, `${m[1]}_count`);
    if (m[2] === 'summary') out.push(`${m[1]}_sum`, `${m[1]}_count`);
  }
  return out;
}

/** The Prometheus text format, sample lines only (what the assertions read). */
function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

const find = (samples: readonly Sample[], name: string, labels: Record<string, string> = {}): Sample[] =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
const total = (samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number => find(samples, name, labels).reduce((n, s) => n + s.value, 0);

// PromQL, checked as far as the dashboard and the rules need: balanced brackets, well-formed
// label matchers and ranges, known functions and keywords; every other identifier is a metric.
const FUNCTIONS = new Set(['rate', 'irate', 'increase', 'delta', 'changes', 'resets', 'histogram_quantile', 'sum', 'max', 'min', 'avg', 'count', 'topk', 'bottomk', 'abs', 'absent', 'clamp_min', 'clamp_max', 'max_over_time', 'min_over_time', 'avg_over_time', 'label_values', 'time', 'vector', 'scalar']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset']);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const DURATION = /^\d+(ms|s|m|h|d|w|y)$/;

/** The metric names `expr` reads; throws where it is not PromQL as we write it. */
function metricsOf(expr: string): string[] {
  const src = expr.replace(/\$__rate_interval|\$__interval/g, '5m');
  const metrics: string[] = [];
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  let i = 0;
  let last = '';
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    if (c === '{') {
      const end = src.indexOf('}', i);
      if (end < 0) throw new Error(`unclosed { in ${expr}`);
      const body = src.slice(i + 1, end).trim();
      for (const matcher of body === '' ? [] : body.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)) {
        if (!/^\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*$/.test(matcher)) throw new Error(`bad label matcher ${matcher} in ${expr}`);
      }
      i = end + 1;
      last = '}';
      continue;
    }
    if (c === '[') {
      const end = src.indexOf(']', i);
      const range = src.slice(i + 1, end).trim();
      if (end < 0 || !range.split(':').every((d, k) => DURATION.test(d) || (k === 1 && d === ''))) throw new Error(`bad range [${range}] in ${expr}`);
      i = end + 1;
      last = ']';
      continue;
    }
    if (c === '(') stack.push('(');
    if (c === ')' && stack.pop() !== pairs[c]) throw new Error(`unbalanced ) in ${expr}`);
    if (c === ']' || c === '}') throw new Error(`unbalanced ${c} in ${expr}`);
    const word = /^[a-zA-Z_][a-zA-Z0-9_:]*/.exec(src.slice(i))?.[0];
    if (word) {
      const next = src.slice(i + word.length).trimStart()[0];
      i += word.length;
      if (GROUPING.has(word)) {
        // a label list: by (le, service)
        const list = /^\s*\(([^)]*)\)/.exec(src.slice(i));
        if (!list || !list[1].split(',').every((l) => /^\s*[a-zA-Z_][a-zA-Z0-9_]*\s*$/.test(l) || l.trim() === '')) throw new Error(`bad ${word} list in ${expr}`);
        i += list[0].length;
      } else if (next === '(' || (FUNCTIONS.has(word) && /^\s*(by|without)\b/.test(src.slice(i)))) {
        // a call, or an aggregation with its grouping first: sum by (le) (...)
        if (!FUNCTIONS.has(word)) throw new Error(`unknown function ${word} in ${expr}`);
      } else if (!KEYWORDS.has(word)) {
        metrics.push(word);
      }
      last = word;
      continue;
    }
    const num = /^\d+(\.\d+)?(e\d+)?/.exec(src.slice(i))?.[0];
    if (num) {
      i += num.length;
      last = num;
      continue;
    }
    const op = /^(==|!=|>=|<=|[-+*/%^><(),])/.exec(src.slice(i))?.[0];
    if (!op) throw new Error(`unexpected ${c} in ${expr}`);
    i += op.length;
    last = op;
  }
  if (stack.length) throw new Error(`unclosed ( in ${expr}`);
  if (metrics.length === 0) throw new Error(`no metric in ${expr}`);
  void last;
  return metrics;
}

describe('operators: every service at /metrics, the Grafana dashboard and the alert rules (issue 11)', () => {
  let market: Market;
  let jobId: string;
  /** Each service's samples after one job ran to settlement. */
  const scraped: Record<string, Sample[]> = {};
  /** Every series name the market registers (histograms with _bucket/_sum/_count): what "exists" means below. */
  const known = new Set<string>();

  beforeAll(async () => {
    market = await startMarket();
    const org = await createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch }).createOrg({ operatorToken: OPERATOR_TOKEN, name: 'Metrics' });
    const requester = createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch, apiKey: org.apiKey });
    await requester.faucet({ amountWei: 100n * AGPU });
    const agent = await market.startAgent({ name: 'agent-metrics', gpuModel: 'RTX4090', vramGiB: 24, region: 'eu-west' });
    const submitted = await requester.submitJob({
      job: jobRequest({ workload: { seed: 'metrics-spec', iterations: 1000 } }) as never,
    });
    jobId = submitted.jobId;
    const done = await requester.waitForJob({ jobId, statuses: ['settled', 'refunded', 'failed'], timeoutMs: 60_000 });
    expect(done.status).toBe('settled');
    await agent.stop();
    // a probe of each service, and a URL no route serves, so both are in the next scrape
    for (const name of SERVICES) expect((await fetch(`${market.serviceUrls[name]}/health/live`)).status).toBe(200);
    expect((await fetch(`${market.gatewayUrl}/no/such/route/${jobId}`)).status).toBe(404);
    for (const name of SERVICES) {
      const res = await fetch(`${market.serviceUrls[name]}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await res.text();
      scraped[name] = parseExposition(text);
      for (const s of scraped[name]) known.add(s.name);
      for (const n of declaredNames(text)) known.add(n);
    }
  }, 180_000);

  afterAll(async () => {
    await market?.stop();
  });

  it('times HTTP on every service by method, route template and status, never by the raw URL', () => {
    for (const name of SERVICES) {
      const samples = scraped[name];
      expect([name, total(samples, 'starminer_http_request_duration_seconds_count', { method: 'GET', route: '/health/live', status: '200', service: name }) >= 1]).toEqual([name, true]);
      expect(find(samples, 'starminer_http_request_duration_seconds_bucket', { route: '/health/live', le: '+Inf' })).toHaveLength(1);
    }
    const gw = scraped.gateway;
    // the job was submitted and then polled by its id: one series per route template
    expect(total(gw, 'starminer_http_request_duration_seconds_count', { method: 'POST', route: '/v1/jobs' })).toBeGreaterThanOrEqual(1);
    const routes = new Set(find(gw, 'starminer_http_request_duration_seconds_count').map((s) => s.labels.route));
    expect([...routes].some((r) => r.startsWith('/v1/jobs/:'))).toBe(true);
    // a URL nothing serves: labelled by the catch-all's template (or `unmatched`), never by the URL
    const notFound = find(gw, 'starminer_http_request_duration_seconds_count', { status: '404' });
    // at least ours: another spec's client on this machine may reach a port this gateway now holds
    expect(notFound.reduce((n, x) => n + x.value, 0)).toBeGreaterThanOrEqual(1);
    expect(notFound.map((x) => x.labels.route)).toEqual([expect.not.stringContaining('/no/such')]);
    // no label anywhere carries the job's id (no per-job series)
    for (const name of SERVICES) for (const s of scraped[name]) expect([name, s.name, Object.values(s.labels).filter((v) => v.includes(jobId))]).toEqual([name, s.name, []]);
  });

  it('times the commands each service handled, by subject and outcome', () => {
    expect(total(scraped.intake, 'starminer_command_duration_seconds_count', { outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(find(scraped.intake, 'starminer_command_duration_seconds_count', { outcome: 'ok' }).map((s) => s.labels.command)).toEqual(expect.arrayContaining([expect.stringMatching(/^cmd\.intake\./)]));
    expect(total(scraped.registry, 'starminer_command_duration_seconds_count', { outcome: 'ok' })).toBeGreaterThanOrEqual(1); // the node registered, heartbeats
    expect(total(scraped.settlement, 'starminer_command_duration_seconds_count', { outcome: 'ok' })).toBeGreaterThanOrEqual(2); // start and result
    expect(total(scraped.deployer, 'starminer_command_duration_seconds_count', { outcome: 'ok' })).toBeGreaterThanOrEqual(1); // the faucet's mint
  });

  it('counts appends to the log by family, type and outcome, with their latency', () => {
    const all = SERVICES.flatMap((n) => scraped[n]);
    expect(total(scraped.intake, 'starminer_log_appended_events_total', { family: 'job', outcome: 'stored' })).toBeGreaterThanOrEqual(1);
    expect(total(scraped.matching, 'starminer_log_appended_events_total', { family: 'job', type: 'JobMatched', outcome: 'stored' })).toBe(1);
    expect(total(all, 'starminer_log_appended_events_total', { family: 'contract', type: 'ContractReleased', outcome: 'stored' })).toBe(1);
    expect(total(scraped.intake, 'starminer_log_append_duration_seconds_count', { family: 'job', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(total(scraped.intake, 'starminer_log_append_duration_seconds_sum', { family: 'job', outcome: 'ok' })).toBeGreaterThan(0);
  });

  it('reports lag in events and seconds, position, state and parked events for every reader of every service', () => {
    for (const name of SERVICES) {
      const readers = find(scraped[name], 'starminer_reader_up').map((s) => s.labels.reader);
      expect([name, readers.length > 0]).toEqual([name, true]);
      for (const reader of readers) {
        for (const metric of ['starminer_reader_lag_events', 'starminer_reader_lag_seconds', 'starminer_reader_position', 'starminer_parked_events']) {
          const s = find(scraped[name], metric, { reader, service: name });
          expect([name, reader, metric, s.length]).toEqual([name, reader, metric, 1]);
          expect(s[0].value).toBeGreaterThanOrEqual(0);
        }
        // the market is quiet after the job: nothing parked, nobody far behind
        expect([name, reader, find(scraped[name], 'starminer_parked_events', { reader })[0].value]).toEqual([name, reader, 0]);
      }
    }
    // the contracts projection applied the job's contract events
    expect(find(scraped.settlement, 'starminer_reader_position', { reader: 'contracts' })[0].value).toBeGreaterThan(0);
  });

  it('shows the market: queue depth per category, match latency, engine decision time, price multipliers', () => {
    const m = scraped.matching;
    expect(find(m, 'starminer_queue_depth').map((s) => s.labels.category).sort()).toEqual([...CATEGORIES].sort());
    expect(total(m, 'starminer_queue_depth')).toBe(0); // the one job was matched
    expect(total(m, 'starminer_match_latency_seconds_count', { category: 'inference' })).toBe(1);
    expect(total(m, 'starminer_match_latency_seconds_sum', { category: 'inference' })).toBeGreaterThanOrEqual(0);
    expect(total(m, 'starminer_engine_decision_seconds_count', { step: 'match' })).toBeGreaterThanOrEqual(1);
    const surge = find(m, 'starminer_price_multiplier', { gpu_class: 'RTX4090', region: 'eu-west' });
    expect(surge).toHaveLength(1);
    expect(surge[0].value).toBeGreaterThan(0);
    expect(find(m, 'starminer_price_tier_multiplier').length).toBeGreaterThan(0);
  });

  it('observes chain transactions (latency, gas, failures by action), the chain probe and the open escrow', () => {
    const d = scraped.deployer;
    const s = scraped.settlement;
    expect(total(d, 'starminer_chain_tx_duration_seconds_count', { action: 'open', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(total(d, 'starminer_chain_tx_gas_used_sum', { action: 'open' })).toBeGreaterThan(21_000);
    expect(total(d, 'starminer_chain_tx_duration_seconds_count', { action: 'mint', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(total(s, 'starminer_chain_tx_duration_seconds_count', { action: 'release', outcome: 'ok' })).toBe(1);
    expect(total(s, 'starminer_chain_tx_gas_used_count', { action: 'release' })).toBe(1);
    expect(total(d, 'starminer_chain_tx_failures_total') + total(s, 'starminer_chain_tx_failures_total')).toBe(0);
    for (const name of ['deployer', 'settlement']) expect([name, find(scraped[name], 'starminer_chain_up')[0]?.value]).toEqual([name, 1]);
    // the job was released: nothing is held in escrow and nothing is past its deadline
    expect(find(s, 'starminer_open_escrow_wei')[0]?.value).toBe(0);
    expect(find(s, 'starminer_open_contracts')[0]?.value).toBe(0);
    expect(find(s, 'starminer_jobs_past_deadline')[0]?.value).toBe(0);
  });

  it('the Grafana dashboard is valid dashboard JSON whose every query parses and names only metrics the market exports', () => {
    const dash = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/starminer.json'), 'utf8'));
    expect(dash).toMatchObject({ schemaVersion: expect.any(Number), title: expect.any(String), uid: expect.any(String), panels: expect.any(Array) });
    expect(dash.__inputs).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]));
    const rows = dash.panels.filter((p: { type: string }) => p.type === 'row').map((p: { title: string }) => p.title);
    expect(rows).toEqual(['Edge', 'Log & projections', 'Market', 'Chain', 'Escrow']);
    const ids = new Set<number>();
    const named = new Set<string>();
    for (const p of dash.panels) {
      expect(ids.has(p.id)).toBe(false);
      ids.add(p.id);
      expect(p.gridPos).toMatchObject({ h: expect.any(Number), w: expect.any(Number), x: expect.any(Number), y: expect.any(Number) });
      if (p.type === 'row') continue;
      expect([p.title, p.datasource]).toEqual([p.title, { type: 'prometheus', uid: '${DS_PROMETHEUS}' }]);
      expect(p.targets.length).toBeGreaterThan(0);
      for (const t of p.targets) {
        expect(t).toMatchObject({ refId: expect.any(String), expr: expect.any(String) });
        for (const metric of metricsOf(t.expr)) {
          expect([p.title, metric, known.has(metric)]).toEqual([p.title, metric, true]);
          named.add(metric);
        }
      }
    }
    for (const v of dash.templating.list) {
      // Grafana's label_values(series, label): the series is PromQL, the label is not a metric
      const series = /^label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$/.exec(v.query.query)?.[1];
      expect([v.name, series]).toEqual([v.name, expect.any(String)]);
      for (const metric of metricsOf(series!)) expect([v.name, metric, known.has(metric)]).toEqual([v.name, metric, true]);
    }
    // the series the issue names are all on the dashboard
    for (const family of ['starminer_http_request_duration_seconds', 'starminer_command_duration_seconds', 'starminer_log_appended_events_total', 'starminer_reader_lag_events', 'starminer_reader_lag_seconds', 'starminer_parked_events', 'starminer_queue_depth', 'starminer_match_latency_seconds', 'starminer_price_multiplier', 'starminer_chain_tx_duration_seconds', 'starminer_chain_tx_gas_used', 'starminer_chain_tx_failures_total', 'starminer_open_escrow_wei']) {
      expect([family, [...named].some((n) => n === family || n.startsWith(`${family}_`))]).toEqual([family, true]);
    }
  });

  it('the alert rules are a valid rules file with exactly the five alerts, each with for, severity, summary, description and runbook, over existing metrics', () => {
    // a prometheus-operator PrometheusRule: its spec is the rules file (deploy/k8s validates the object itself)
    const ruleObject = parseYaml(readFileSync(join(ROOT, 'deploy/prometheus/alerts.yaml'), 'utf8')) as { apiVersion: string; kind: string; spec: unknown };
    expect([ruleObject.apiVersion, ruleObject.kind]).toEqual(['monitoring.coreos.com/v1', 'PrometheusRule']);
    const rules = ruleObject.spec;
    const schema = {
      type: 'object',
      required: ['groups'],
      additionalProperties: false,
      properties: {
        groups: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            required: ['name', 'rules'],
            additionalProperties: false,
            properties: {
              name: { type: 'string', minLength: 1 },
              interval: { type: 'string', pattern: '^\\d+(ms|s|m|h)$' },
              rules: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['alert', 'expr', 'for', 'labels', 'annotations'],
                  additionalProperties: false,
                  properties: {
                    alert: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
                    expr: { type: 'string', minLength: 1 },
                    for: { type: 'string', pattern: '^\\d+(s|m|h)$' },
                    labels: { type: 'object', required: ['severity'], properties: { severity: { enum: ['critical', 'warning', 'info'] } }, additionalProperties: { type: 'string' } },
                    annotations: { type: 'object', required: ['summary', 'description', 'runbook_url'], additionalProperties: { type: 'string' } },
                  },
                },
              },
            },
          },
        },
      },
    };
    const validate = new Ajv({ allErrors: true }).compile(schema);
    expect([validate(rules), validate.errors]).toEqual([true, null]);
    const all = (rules as { groups: { rules: { alert: string; expr: string; annotations: Record<string, string> }[] }[] }).groups.flatMap((g) => g.rules);
    expect(all.map((r) => r.alert).sort()).toEqual([...ALERTS].sort());
    for (const r of all) {
      expect(r.annotations.runbook_url).toBe(`https://github.com/starminer/starminer/blob/main/docs/OPERATIONS.md#${r.alert.toLowerCase()}`);
      for (const metric of metricsOf(r.expr)) expect([r.alert, metric, known.has(metric)]).toEqual([r.alert, metric, true]);
    }
  });

  it('the PromQL check refuses what is not PromQL or names an unknown function', () => {
    expect(metricsOf('sum by (le) (rate(a_bucket{x="1", y=~"a,b"}[5m]))')).toEqual(['a_bucket']);
    expect(() => metricsOf('sum(rate(a[5m])')).toThrow(/unclosed/);
    expect(() => metricsOf('rate(a{x=1}[5m])')).toThrow(/label matcher/);
    expect(() => metricsOf('frobnicate(a)')).toThrow(/unknown function/);
    expect(() => metricsOf('rate(a[5 minutes])')).toThrow(/bad range/);
  });
});
