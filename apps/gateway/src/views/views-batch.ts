import type { EntityManager } from 'typeorm';
import type { JobStatus, TradeEvent } from '@starminer/events';
import { insertRows, jobIdOf, tableOf, updateRows } from '@starminer/service-kit';
import type { StoredEvent } from '@starminer/trade-log';
import { jobUpdateRowOf, type JobBeforeEvent } from '../job-events/record-job-update';
import { JobUpdateRow } from '../job-events/job-update.entity';
import { JobView, MarketPricePoint, MarketPriceView, type MarketSurgeView, NodeView, OrgRow } from './entities';
import { supersedes, surgeKeyOf, writeSurges } from './market-surges';
import { viewChangeOf, type JobPatch, type SubmittedJobRow } from './views.projection';

/** What a batch of events writes, folded in log order: at most one row or patch per key. */
export interface ViewsBatchWrites {
  /** one per event clients see, in log order (the first for a seq given twice: ON CONFLICT DO NOTHING keeps it) */
  readonly jobUpdates: JobUpdateRow[];
  readonly orgs: OrgRow[];
  /** submissions, one per job (the last wins), written before the patches */
  readonly jobsSubmitted: SubmittedJobRow[];
  /** one merged patch per job the view has (or gets in this batch), applied after the submissions */
  readonly jobPatches: Map<string, JobPatch>;
  /** registrations, one per node, with the node's later patches of the batch merged in */
  readonly nodesRegistered: NodeView[];
  /** patches of nodes not registered in this batch (an UPDATE: nothing when the view has no such node) */
  readonly nodePatches: Map<string, Partial<NodeView>>;
  readonly prices: MarketPriceView[];
  /** every price point of the batch, one per seq, in log order (ON CONFLICT DO NOTHING: appended once) */
  readonly pricePoints: MarketPricePoint[];
  /** one per market: the batch's change that supersedes its others (written only over an older one, as per event) */
  readonly surges: MarketSurgeView[];
}

/**
 * The jobs whose row a batch reads first: every job an event of it names but a submission (which
 * carries its org and creates the job). A few more than need it (events of an account or a node
 * that name a job) cost nothing in the one query, and no work per event to tell them apart.
 */
export function jobsReadBy(events: readonly StoredEvent[]): string[] {
  const ids = new Set<string>();
  for (const { event } of events) {
    if (event.type === 'JobSubmitted') continue;
    const jobId = jobIdOf(event as TradeEvent);
    if (jobId !== undefined) ids.add(jobId);
  }
  return [...ids];
}

function without<T extends object>(patch: T, keys: object): T {
  const rest = { ...patch } as Record<string, unknown>;
  for (const k of Object.keys(keys)) delete rest[k];
  return rest as T;
}

/**
 * Folds a batch, in log order, into the rows it writes, given the jobs the view holds before it:
 * what applying `applyToViews` to each event in turn would leave. Pure.
 * - A job update reads the job as the fold has it just before its event (org, status), as
 *   recordJobUpdate reads the row; a submission creates the job in the fold, so a later event of
 *   the same batch sees it.
 * - A patch of a job the fold does not have is dropped (the per-event UPDATE touches nothing);
 *   patches of one job merge, later fields winning (`updatedAt`, `lastSeq` from the last).
 * - A submission of a job the view already has (a replay) overwrites the submission's columns and
 *   keeps the others: its row is upserted, then the rest of the patches before it and those after it.
 * - A node's registration sets every column (`NodeView`), so patches before it in the batch are
 *   dead and patches after it merge into it; a node's other patches stay an UPDATE.
 * - Orgs and prices are whole rows: the last of each key wins.
 * - Price points are appended: one per seq (a seq given twice is the same point).
 * - A market's surge keeps the change that supersedes the others (market-surges.ts): the order is
 *   total, so the one of the batch, written over the row only when it supersedes it, leaves what
 *   applying them one by one leaves.
 */
export function foldViewsBatch(events: readonly StoredEvent[], jobsBefore: ReadonlyMap<string, JobBeforeEvent>): ViewsBatchWrites {
  const jobs = new Map<string, JobBeforeEvent>(jobsBefore);
  const jobUpdates = new Map<string, JobUpdateRow>();
  const orgs = new Map<string, OrgRow>();
  const jobsSubmitted = new Map<string, SubmittedJobRow>();
  const jobPatches = new Map<string, JobPatch>();
  const nodesRegistered = new Map<string, NodeView>();
  const nodePatches = new Map<string, Partial<NodeView>>();
  const prices = new Map<string, MarketPriceView>();
  const pricePoints = new Map<string, MarketPricePoint>();
  const surges = new Map<string, MarketSurgeView>();
  for (const stored of events) {
    // first, as the per-event path: the update reads the job before the event moves it
    const jobId = jobIdOf(stored.event as TradeEvent);
    const update = jobUpdateRowOf(stored, jobId === undefined ? undefined : jobs.get(jobId));
    if (update && !jobUpdates.has(update.seq)) jobUpdates.set(update.seq, update);
    const change = viewChangeOf(stored);
    if (!change) continue;
    switch (change.kind) {
      case 'org':
        orgs.set(change.row.orgId, change.row);
        break;
      case 'job-submitted': {
        const { row } = change;
        jobsSubmitted.set(row.jobId, { ...jobsSubmitted.get(row.jobId), ...row });
        const before = jobPatches.get(row.jobId);
        if (before) jobPatches.set(row.jobId, without(before, row));
        jobs.set(row.jobId, { orgId: row.orgId, status: 'queued' });
        break;
      }
      case 'job-patch': {
        const job = jobs.get(change.jobId);
        if (!job) break; // a job this view never had
        jobPatches.set(change.jobId, { ...jobPatches.get(change.jobId), ...change.patch });
        if (change.patch.status) jobs.set(change.jobId, { orgId: job.orgId, status: change.patch.status });
        break;
      }
      case 'node-registered':
        nodesRegistered.set(change.row.nodeId, { ...nodesRegistered.get(change.row.nodeId), ...change.row });
        nodePatches.delete(change.row.nodeId); // every column is the registration's now
        break;
      case 'node-patch': {
        const registered = nodesRegistered.get(change.nodeId);
        if (registered) nodesRegistered.set(change.nodeId, { ...registered, ...change.patch });
        else nodePatches.set(change.nodeId, { ...nodePatches.get(change.nodeId), ...change.patch });
        break;
      }
      case 'price':
        prices.set(`${change.row.gpuClass}\u0000${change.row.region}`, change.row);
        if (change.point && !pricePoints.has(change.point.seq)) pricePoints.set(change.point.seq, change.point);
        break;
      case 'surge': {
        const key = surgeKeyOf(change.row);
        const held = surges.get(key);
        if (!held || supersedes(change.row, held)) surges.set(key, change.row);
        break;
      }
      default: {
        const unknownChange: never = change;
        throw new Error(`unknown view change ${JSON.stringify(unknownChange)}`);
      }
    }
  }
  for (const [jobId, patch] of jobPatches) {
    // a replayed submission overwrote every column the patches before it had set: nothing left to write
    if (Object.keys(patch).length === 0) jobPatches.delete(jobId);
  }
  return {
    jobUpdates: [...jobUpdates.values()],
    orgs: [...orgs.values()],
    jobsSubmitted: [...jobsSubmitted.values()],
    jobPatches,
    nodesRegistered: [...nodesRegistered.values()],
    nodePatches,
    prices: [...prices.values()],
    pricePoints: [...pricePoints.values()],
    surges: [...surges.values()],
  };
}

/**
 * Writes a whole batch of the views projection with a handful of statements, where
 * `applyToViews` writes two or three per event: one SELECT of the jobs the batch touches, then per
 * table one multi-row INSERT ... ON CONFLICT, and one UPDATE ... FROM unnest(...) for all the
 * patches of a table. The rows are those `applyToViews` leaves applying each event in order
 * (foldViewsBatch), so an event applied twice still leaves the same rows. Inside the runner's
 * transaction, under its checkpoint lock: no other writer moves these rows meanwhile.
 */
export async function applyViewsBatch(em: EntityManager, events: readonly StoredEvent[]): Promise<void> {
  if (events.length === 0) return;
  const writes = foldViewsBatch(events, await readJobs(em, jobsReadBy(events)));
  await insertRows(em, JobUpdateRow, writes.jobUpdates, { ignore: ['seq'] });
  await insertRows(em, OrgRow, writes.orgs, { update: ['orgId'] });
  await insertRows(em, JobView, writes.jobsSubmitted, { update: ['jobId'] });
  await updateRows(em, JobView, 'jobId', writes.jobPatches);
  await insertRows(em, NodeView, writes.nodesRegistered, { update: ['nodeId'] });
  await updateRows(em, NodeView, 'nodeId', writes.nodePatches);
  await insertRows(em, MarketPriceView, writes.prices, { update: ['gpuClass', 'region'] });
  await insertRows(em, MarketPricePoint, writes.pricePoints, { ignore: ['seq'] });
  await writeSurges(em, writes.surges);
}

/** The org and status of each job of `jobIds` the view has: one query. */
async function readJobs(em: EntityManager, jobIds: string[]): Promise<Map<string, JobBeforeEvent>> {
  const jobs = new Map<string, JobBeforeEvent>();
  if (jobIds.length === 0) return jobs;
  const t = tableOf(em, JobView);
  const rows = (await em.query(`SELECT ${t.col('jobId')} AS "jobId", ${t.col('orgId')} AS "orgId", ${t.col('status')} AS status FROM ${t.name} WHERE ${t.col('jobId')} = ANY($1::text[])`, [
    jobIds,
  ])) as { jobId: string; orgId: string; status: string }[];
  for (const r of rows) jobs.set(r.jobId, { orgId: r.orgId, status: r.status as JobStatus });
  return jobs;
}
