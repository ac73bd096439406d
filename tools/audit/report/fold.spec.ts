import { EXAMPLE_EVENT_DATA, makeEvent, type EventData, type EventType, type TradeEvent } from '@starminer/events';
import { evolveReport, initialReportState, OPEN_JOBS_MAX, REPUTATION_POINTS_PER_NODE_MAX, ReputationSeries, UNKNOWN, type ReportState, type ReportWindow } from './fold';
import { reportTables } from './rows';
import type { Table } from './table';

const AGPU = 10n ** 18n;
const ALL: ReportWindow = { fromMs: Number.NEGATIVE_INFINITY, toMs: Number.POSITIVE_INFINITY };
const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const at = (sec: number): string => new Date(T0 + sec * 1000).toISOString();
const ADDRESS_A = `0x${'a1'.repeat(20)}`;
const ADDRESS_B = `0x${'b2'.repeat(20)}`;

let eventCount = 0;
/** An event of the catalogue: its example data with `data` over it, at `sec` seconds after T0. */
function ev<T extends EventType>(type: T, data: Partial<EventData<T>>, sec: number): TradeEvent<T> {
  eventCount += 1;
  return makeEvent(type, { ...EXAMPLE_EVENT_DATA[type], ...data } as EventData<T>, {
    id: `evt-${eventCount}`,
    aggregateId: 'agg-1',
    occurredAt: at(sec),
    correlationId: 'corr-1',
    causationId: 'cause-1',
    actor: 'service:spec',
  });
}

const registered = (nodeId: string, providerId: string, nodeAddress: string, sec = 0, gpuModel = 'H100', reputation = 0.5) =>
  ev('NodeRegistered', { nodeId, providerId, nodeAddress, gpuModel, reputation }, sec);
const submitted = (jobId: string, sec: number, over: Partial<EventData<'JobSubmitted'>> = {}) => ev('JobSubmitted', { jobId, orgId: 'org-1', category: 'inference', expectedRuntimeSec: 60, ...over }, sec);
const matched = (jobId: string, nodeId: string, sec: number, gpuCount = 2) => ev('JobMatched', { jobId, nodeId, gpuCount }, sec);
const started = (jobId: string, nodeId: string, sec: number) => ev('JobStarted', { jobId, nodeId }, sec);
const result = (jobId: string, nodeId: string, sec: number) => ev('ResultSubmitted', { jobId, nodeId }, sec);
const released = (jobId: string, nodeAddress: string, amountWei: bigint, sec: number) => ev('ContractReleased', { jobId, nodeAddress, amountWei }, sec);
const refunded = (jobId: string, amountWei: bigint, sec: number) => ev('ContractRefunded', { jobId, amountWei }, sec);

/** A job's whole life on node-a: submitted, matched, started at +10 s, result after `runtimeSec`, released for `amountWei`. */
const releasedJob = (jobId: string, start: number, runtimeSec: number, amountWei: bigint) => [
  submitted(jobId, start),
  matched(jobId, 'node-a', start + 1),
  started(jobId, 'node-a', start + 10),
  result(jobId, 'node-a', start + 10 + runtimeSec),
  ev('SettlementDecided', { jobId, outcome: 'release' }, start + 10 + runtimeSec),
  released(jobId, ADDRESS_A, amountWei, start + 20 + runtimeSec),
];

function given(events: readonly TradeEvent[], window: ReportWindow = ALL): { state: ReportState; providers: Table; orgs: Table; reputation: Table } {
  const state = events.reduce(evolveReport, initialReportState(window));
  return { state, ...reportTables(state) };
}

/** The row whose first cells are `key`, as { column: cell }. */
function row(table: Table, ...key: string[]): Record<string, unknown> {
  const found = table.rows.find((r) => key.every((k, i) => r[i] === k));
  if (!found) throw new Error(`${table.name} has no row ${key.join(', ')}: ${JSON.stringify(table.rows)}`);
  return Object.fromEntries(table.columns.map((c, i) => [c.name, found[i]]));
}

describe('report fold', () => {
  it('given a released job, then the provider earned its amount, ran it for the runtime between JobStarted and ResultSubmitted, and the org spent it', () => {
    const { providers, orgs } = given([registered('node-a', 'prov-a', ADDRESS_A), ...releasedJob('job-1', 100, 90, 3n * AGPU)]);
    expect(row(providers, 'prov-a')).toMatchObject({
      nodes: 1,
      gpu_models: 'H100',
      jobs_matched: 1,
      jobs_ended: 1,
      jobs_released: 1,
      jobs_refunded: 0,
      success_rate: 1,
      gpu_hours: (90 * 2) / 3600,
      earned_wei: (3n * AGPU).toString(),
      earned_agpu: '3',
      disputes: 0,
      slashes: 0,
      runtime_jobs: 1,
      runtime_p50_sec: 90,
      runtime_p95_sec: 90,
      runtime_vs_expected_p50: 1.5,
      runtime_percentiles: 'exact',
      reputation_end: 0.5,
    });
    expect(row(orgs, 'org-1', 'inference', 'H100')).toMatchObject({ jobs_matched: 1, jobs_released: 1, spent_wei: (3n * AGPU).toString(), spent_agpu: '3', refunded_wei: '0', gpu_hours: (90 * 2) / 3600 });
  });

  it('given a rejected result, a refund and a slash, then one dispute, one slash with its amount, a success rate of 0 and the refund on the org', () => {
    const { providers, orgs } = given([
      registered('node-a', 'prov-a', ADDRESS_A),
      submitted('job-1', 0, { category: 'rendering' }),
      matched('job-1', 'node-a', 1),
      started('job-1', 'node-a', 2),
      result('job-1', 'node-a', 12),
      ev('ResultRejected', { jobId: 'job-1' }, 12),
      ev('SettlementDecided', { jobId: 'job-1', outcome: 'refund' }, 12),
      refunded('job-1', 5n * AGPU, 13),
      ev('StakeSlashed', { nodeId: 'node-a', jobId: 'job-1', amountWei: 7n * AGPU }, 14),
    ]);
    expect(row(providers, 'prov-a')).toMatchObject({ jobs_ended: 1, jobs_released: 0, jobs_refunded: 1, success_rate: 0, disputes: 1, slashes: 1, slashed_wei: (7n * AGPU).toString(), slashed_agpu: '7', earned_wei: '0', runtime_p50_sec: 10 });
    expect(row(orgs, 'org-1', 'rendering', 'H100')).toMatchObject({ spent_wei: '0', jobs_refunded: 1, refunded_wei: (5n * AGPU).toString(), refunded_agpu: '5' });
  });

  it('given jobs matched that have not ended, then the success rate and the runtime percentiles are empty, not zero', () => {
    const { providers } = given([registered('node-a', 'prov-a', ADDRESS_A), submitted('job-1', 0), matched('job-1', 'node-a', 1)]);
    expect(row(providers, 'prov-a')).toMatchObject({ jobs_matched: 1, jobs_ended: 0, success_rate: null, runtime_jobs: 0, runtime_p50_sec: null, runtime_vs_expected_p95: null });
  });

  it('given runtimes of 1..20 times the expected, then p50 and p95 are the nearest ranks and GPU-hours sum them all', () => {
    const jobs = Array.from({ length: 20 }, (_, i) => releasedJob(`job-${i}`, i * 10_000, 60 * (i + 1), AGPU)).flat();
    const { providers } = given([registered('node-a', 'prov-a', ADDRESS_A), ...jobs]);
    expect(row(providers, 'prov-a')).toMatchObject({
      runtime_jobs: 20,
      runtime_p50_sec: 600,
      runtime_p95_sec: 1140,
      runtime_vs_expected_p50: 10,
      runtime_vs_expected_p95: 19,
      gpu_hours: (2 * 60 * 210) / 3600,
      earned_agpu: '20',
    });
  });

  it('given events before the window, then they build the state but count nothing; events at or after its end are not read', () => {
    const window: ReportWindow = { fromMs: Date.parse(at(50)), toMs: Date.parse(at(1000)) };
    const { state, providers, orgs } = given(
      [
        registered('node-a', 'prov-a', ADDRESS_A, 0),
        submitted('job-1', 1),
        matched('job-1', 'node-a', 2),
        started('job-1', 'node-a', 10),
        result('job-1', 'node-a', 70), // in the window: runtime 60 s from a start before it
        released('job-1', ADDRESS_A, 2n * AGPU, 80),
        ...releasedJob('job-2', 900, 90, 4n * AGPU), // matched in the window, released at 1010: after it
      ],
      window,
    );
    expect(row(providers, 'prov-a')).toMatchObject({ jobs_matched: 1, jobs_released: 1, earned_wei: (2n * AGPU).toString(), runtime_jobs: 1, runtime_p50_sec: 60 });
    expect(row(orgs, 'org-1', 'inference', 'H100')).toMatchObject({ jobs_matched: 1, jobs_released: 1, spent_agpu: '2' });
    expect(state).toMatchObject({ eventsBeforeWindow: 4, eventsInWindow: 5, eventsAfterWindow: 3 });
  });

  it('given a release of a job the log never introduced, then it counts for the provider of the node with that address, under an unknown org', () => {
    const { providers, orgs } = given([registered('node-a', 'prov-a', ADDRESS_A), registered('node-b', 'prov-b', ADDRESS_B), released('job-old', ADDRESS_B.toUpperCase().replace('0X', '0x'), AGPU, 5)]);
    expect(row(providers, 'prov-b')).toMatchObject({ jobs_released: 1, earned_agpu: '1' });
    expect(row(providers, 'prov-a')).toMatchObject({ jobs_released: 0, earned_agpu: '0' });
    expect(row(orgs, UNKNOWN, UNKNOWN, UNKNOWN)).toMatchObject({ spent_agpu: '1' });
  });

  it('given a node first named by a job and registered later, then it moves from the unknown provider to its own, and no empty unknown row stays', () => {
    const { providers } = given([submitted('job-1', 0), matched('job-1', 'node-a', 1), registered('node-a', 'prov-a', ADDRESS_A, 2)]);
    expect(providers.rows.map((r) => r[0])).toEqual([UNKNOWN, 'prov-a']);
    expect(row(providers, UNKNOWN)).toMatchObject({ nodes: 0, jobs_matched: 1 });
    expect(row(providers, 'prov-a')).toMatchObject({ nodes: 1, jobs_matched: 0 });
    expect(given([registered('node-a', 'prov-a', ADDRESS_A)]).providers.rows.map((r) => r[0])).toEqual(['prov-a']);
  });

  it('given reputation changes, then the series keeps the last value of each minute in the window, and the provider ends at the mean of its nodes', () => {
    const window: ReportWindow = { fromMs: Date.parse(at(60)), toMs: Date.parse(at(600)) };
    const { reputation, providers } = given(
      [
        registered('node-a', 'prov-a', ADDRESS_A, 0, 'H100', 0.5), // before the window: no point
        registered('node-b', 'prov-a', ADDRESS_B, 0, 'A100', 0.2),
        ev('NodeReputationChanged', { nodeId: 'node-a', reputation: 0.6 }, 61),
        ev('NodeReputationChanged', { nodeId: 'node-a', reputation: 0.7 }, 62),
        ev('NodeReputationChanged', { nodeId: 'node-a', reputation: 0.4 }, 185),
        ev('NodeReputationChanged', { nodeId: 'node-a', reputation: 0.9 }, 700), // after the window
      ],
      window,
    );
    expect(reputation.rows).toEqual([
      ['node-a', 'prov-a', new Date(T0 + 60_000).toISOString(), 60, 0.7, 2],
      ['node-a', 'prov-a', new Date(T0 + 180_000).toISOString(), 60, 0.4, 1],
    ]);
    expect(row(providers, 'prov-a')).toMatchObject({ nodes: 2, gpu_models: 'A100;H100', reputation_end: (0.4 + 0.2) / 2 });
  });

  it('given a job that failed or was cancelled before it ended, then the fold forgets it (its state is bounded by the jobs in flight)', () => {
    const { state } = given([submitted('job-1', 0), submitted('job-2', 0), ev('JobFailed', { jobId: 'job-1' }, 1), ev('JobCancelled', { jobId: 'job-2' }, 1), submitted('job-3', 2)]);
    expect([...state.jobs.keys()]).toEqual(['job-3']);
    expect(state.jobsForgotten).toBe(0);
  });

  it('given more open jobs than OPEN_JOBS_MAX, then the oldest is forgotten and counted', () => {
    const state = initialReportState(ALL);
    const template = submitted('job-x', 0);
    for (let i = 0; i <= OPEN_JOBS_MAX; i += 1) evolveReport(state, { ...template, data: { ...template.data, jobId: `job-${i}` } });
    expect(state.jobs.size).toBe(OPEN_JOBS_MAX);
    expect(state.jobs.has('job-0')).toBe(false);
    expect(state.jobsForgotten).toBe(1);
  });

  it('refuses an empty window', () => {
    expect(() => initialReportState({ fromMs: 5, toMs: 5 })).toThrow(RangeError);
  });
});

describe('ReputationSeries', () => {
  it('keeps at most REPUTATION_POINTS_PER_NODE_MAX buckets over the whole span, doubling their width, each with its last value and every change counted', () => {
    const series = new ReputationSeries();
    const minutes = REPUTATION_POINTS_PER_NODE_MAX + 1;
    for (let m = 0; m < minutes; m += 1) series.add(m * 60_000, m / 1000);
    const points = series.points();
    expect(points.length).toBeLessThanOrEqual(REPUTATION_POINTS_PER_NODE_MAX);
    expect(points.every((p) => p.bucketMs === 120_000)).toBe(true);
    expect(points[0]).toEqual({ bucketStartMs: 0, bucketMs: 120_000, reputation: 0.001, changes: 2 });
    expect(points.at(-1)).toEqual({ bucketStartMs: 128 * 60_000, bucketMs: 120_000, reputation: 0.128, changes: 1 });
    expect(points.reduce((s, p) => s + p.changes, 0)).toBe(minutes);
  });
});
