import type { DataSource } from 'typeorm';
import { EXAMPLE_EVENT_DATA } from '@starminer/events';
import type { StoredEvent } from '@starminer/trade-log';
import { cleared, redelivered, rowsOf as rowsIn, spreadThrough, itWritesWhatThePerEventPathWrites, type BatchPath } from '@starminer/service-testing';
import { readModelPerSpec } from '../testing/read-model.testing';
import { VIEW_ENTITIES } from './entities';
import { applyViewsBatch, foldViewsBatch } from './views-batch';
import { applyToViews } from './views.projection';
import { jobLife, storedStream, viewsEvents, type PendingEvent } from './views-stream.testing';

/**
 * The batch path of the views projection (applyViewsBatch) against the per-event path
 * (applyToViews), on a real Postgres: the same log, with events of a job the view never had, nodes
 * patched before they register or never registered, and events delivered twice (at once, later,
 * a submission and a registration replayed after their rows moved on), applied once per event
 * into one database and in batches into another, leaves every table the same, row for row.
 */
const perEvent = readModelPerSpec(VIEW_ENTITIES);
const batched = readModelPerSpec(VIEW_ENTITIES);

/** The market's log, with what a log at least once delivered also holds. */
function logUnderTest(): StoredEvent[] {
  const market = viewsEvents({ jobs: 30, seed: 11, inFlight: 8, nodes: 4, orgs: 2, priceEvery: 6 });
  // a job whose submission the gateway never saw (another deployment's, or a log cut short): every other event of its life
  const lives = ['settled-restored', 'settled-lost', 'refunded', 'open-failed'] as const;
  const ghostEvents = lives.flatMap((outcome, i) => jobLife('job-ghost', 'org-1', 'node-1', EXAMPLE_EVENT_DATA.NodeRegistered.nodeAddress, outcome, 900 + i).slice(1));
  const pending: PendingEvent[] = [
    ...market.slice(0, 10),
    // a node patched before it registers (nothing to update yet), and one that never registers
    { type: 'NodeAvailabilityChanged', data: { nodeId: 'node-late', online: true, reason: 'heartbeat' } },
    { type: 'NodeStakeChanged', data: { ...EXAMPLE_EVENT_DATA.NodeStakeChanged, nodeId: 'node-never' } },
    ...market.slice(10, 40),
    { type: 'NodeRegistered', data: { ...EXAMPLE_EVENT_DATA.NodeRegistered, nodeId: 'node-late', nodeAddress: `0x${'77'.repeat(20)}` } },
    { type: 'NodeReputationChanged', data: { nodeId: 'node-late', reputation: 0.9, jobId: 'job-1', reason: 'job released' } },
  ];
  // the ghost's events spread through the rest of the market's
  pending.push(...spreadThrough(market.slice(40), ghostEvents));
  const stored = storedStream(pending);

  // deliveries again, with the seq of the first: one at once, one later, a submission and a registration long after
  const { log, at, insertAfter } = redelivered(stored, 'job-ghost');
  insertAfter(at('JobMatched', 2), at('JobMatched', 2), 0);
  insertAfter(at('JobWaiting', 1), at('JobWaiting', 1), 20);
  insertAfter(at('ContractReleased', 0), at('JobSubmitted', 0), 3);
  insertAfter(at('ContractOpened', 3), at('NodeRegistered', 1), 5);
  insertAfter(at('ResultRejected', 0), at('ChainEffectRestored', 0), 2);
  return log;
}

const LOG = logUnderTest();

async function applyPerEvent(ds: DataSource, events: readonly StoredEvent[]): Promise<void> {
  for (const e of events) await ds.transaction((em) => applyToViews(em, e));
}

const VIEWS: BatchPath = { apply: applyViewsBatch, entities: VIEW_ENTITIES };
const rowsOf = (ds: DataSource) => rowsIn(VIEWS, ds);

let expected: Record<string, unknown[]>;

beforeAll(async () => {
  await applyPerEvent(perEvent.ds, LOG);
  expected = await rowsOf(perEvent.ds);
}, 120_000);

describe('the views written a batch at a time', () => {
  it('given the log applied per event, then it is a market worth comparing: every end a job reaches, chain effects, the ghost job unseen', () => {
    const jobs = expected.jobs as { jobId: string; status: string; settleTxHash: string | null; failureCode: string | null }[];
    // queued: the job whose submission was delivered again after it settled (an upsert of the submission, as per event)
    expect(new Set(jobs.map((j) => j.status))).toEqual(new Set(['settled', 'refunded', 'failed', 'cancelled', 'queued']));
    expect(jobs.filter((j) => j.status === 'queued')).toHaveLength(1);
    expect(jobs.some((j) => j.status === 'failed' && j.failureCode === 'RELEASE_LOST' && j.settleTxHash === null)).toBe(true);
    expect(jobs.find((j) => j.jobId === 'job-ghost')).toBeUndefined();
    expect((expected.job_updates as { jobId: string; type: string }[]).filter((u) => u.jobId === 'job-ghost')).toEqual([]);
    expect((expected.job_updates as { type: string }[]).some((u) => u.type === 'job.chain-effect-restored')).toBe(true);
    expect((expected.nodes as { nodeId: string; online: boolean; reputation: number }[]).find((n) => n.nodeId === 'node-late')).toMatchObject({ online: false, reputation: 0.9 });
    expect((expected.nodes as { nodeId: string }[]).find((n) => n.nodeId === 'node-never')).toBeUndefined();
    expect(expected.orgs).toHaveLength(2);
    expect(expected.market_prices.length).toBeGreaterThan(0);
    // every price move appended once, a redelivered one too; every match kept its time
    expect(expected.market_price_points).toHaveLength(new Set(LOG.filter((e) => e.event.type === 'PriceChanged').map((e) => e.seq)).size);
    expect((expected.jobs as { status: string; matchedAt: unknown }[]).some((j) => j.status === 'settled' && j.matchedAt !== null)).toBe(true);
    expect(LOG.length).toBeGreaterThan(200);
  });

  it('given the log applied per event, then each market that surged shows the surge of its latest change by the engine\'s time, late older starts ignored', () => {
    const changes = LOG.filter((e) => e.event.type === 'SurgeStarted' || e.event.type === 'SurgeEnded');
    const data = (e: StoredEvent) => e.event.data as { gpuClass: string; region: string; atMs: number };
    // the log is worth comparing: surges start and end, and at least one start comes back after its end
    expect(changes.filter((e) => e.event.type === 'SurgeEnded').length).toBeGreaterThan(0);
    const lateStart = changes.find((e, i) => e.event.type === 'SurgeStarted' && changes.slice(0, i).some((o) => o.event.type === 'SurgeEnded' && data(o).gpuClass === data(e).gpuClass && data(o).region === data(e).region && data(o).atMs > data(e).atMs));
    expect(lateStart).toBeDefined();
    // per market: the change with the latest atMs (then seq) decides, whatever came after it on the log
    const last = new Map<string, StoredEvent>();
    for (const e of changes) {
      const key = `${data(e).gpuClass}/${data(e).region}`;
      const held = last.get(key);
      if (!held || data(e).atMs > data(held).atMs || (data(e).atMs === data(held).atMs && e.seq >= held.seq)) last.set(key, e);
    }
    const want = [...last.values()]
      .map((e) => ({ gpuClass: data(e).gpuClass, region: data(e).region, surgeSince: e.event.type === 'SurgeStarted' ? new Date(data(e).atMs) : null, changedAt: new Date(data(e).atMs), lastSeq: String(e.seq) }))
      .sort((a, b) => (a.gpuClass === b.gpuClass ? (a.region < b.region ? -1 : 1) : a.gpuClass < b.gpuClass ? -1 : 1));
    expect(expected.market_surges).toEqual(want);
    // the log's last surge change is a late start: its market still shows the end before it, not in surge
    const final = changes[changes.length - 1]!;
    expect(final.event.type).toBe('SurgeStarted');
    const finalRow = (expected.market_surges as { gpuClass: string; region: string; surgeSince: Date | null; changedAt: Date }[]).find((r) => r.gpuClass === data(final).gpuClass && r.region === data(final).region);
    expect(finalRow).toMatchObject({ surgeSince: null });
    expect(finalRow!.changedAt.getTime()).toBeGreaterThan(data(final).atMs);
  });

  itWritesWhatThePerEventPathWrites(VIEWS, () => batched.ds, LOG, () => expected);

  it('given a batch, then the fold writes at most one row or patch per key (one statement a table)', () => {
    const writes = foldViewsBatch(LOG, new Map());
    const distinct = <T>(rows: T[], key: (r: T) => string): number => new Set(rows.map(key)).size;
    expect(distinct(writes.jobsSubmitted, (r) => r.jobId)).toBe(writes.jobsSubmitted.length);
    expect(distinct(writes.jobUpdates, (r) => r.seq)).toBe(writes.jobUpdates.length);
    expect(distinct(writes.nodesRegistered, (r) => r.nodeId)).toBe(writes.nodesRegistered.length);
    expect(writes.prices.length).toBeLessThanOrEqual(3);
    expect(distinct(writes.pricePoints, (r) => r.seq)).toBe(writes.pricePoints.length);
    expect(writes.pricePoints.length).toBeGreaterThan(3);
    expect(writes.surges.length).toBeGreaterThan(0);
    expect(writes.surges.length).toBeLessThanOrEqual(3);
    // no job to patch: the ghost's patches are dropped; node-late's patch before its registration is dead
    expect(writes.jobPatches.has('job-ghost')).toBe(false);
    expect(writes.nodePatches.has('node-late')).toBe(false);
  });

  it('when the whole log is one batch, then it takes a handful of statements: one read, then one a table and kind of write', async () => {
    await cleared(VIEWS, batched.ds);
    const statements = await batched.ds.transaction(async (em) => {
      const query = jest.spyOn(em, 'query');
      await applyViewsBatch(em, LOG);
      return query.mock.calls.length;
    });
    // the jobs read; job_updates, orgs, jobs and nodes inserted; jobs and nodes patched; prices upserted; price points appended; surges upserted
    expect(statements).toBeGreaterThan(1);
    expect(statements).toBeLessThanOrEqual(10);
    expect(await rowsOf(batched.ds)).toEqual(expected);
  });
});
