import type { EntityManager } from 'typeorm';
import type { TradeEvent } from '@starminer/events';
import { jobIdOf, readRows, RowsFold, writeRowsFold } from '@starminer/service-kit';
import type { StoredEvent } from '@starminer/trade-log';
import { PendingOpenRow, RecordedOpenRow } from './open-rows.entity';
import { applyToOpens, OPEN_TIMED_OUT } from './pending-opens.projection';

/** What a batch does to the deployer's opens, folded in log order. */
export interface OpensBatchFold {
  readonly pending: RowsFold<PendingOpenRow>;
  readonly recorded: RowsFold<RecordedOpenRow>;
}

/** The jobs a batch reads first: every job an event of it names (whether a job is closed, and which open it records, decide what later events do). */
export function opensReadBy(events: readonly StoredEvent[]): string[] {
  const ids = new Set<string>();
  for (const { event } of events) {
    const id = jobIdOf(event);
    if (id !== undefined) ids.add(id);
  }
  return [...ids];
}

/**
 * Folds a batch, in log order, into what `applyToOpens` applied to each event in turn leaves, given
 * the rows of `jobIds` both tables have (`closed` of the pending, `kind` of the recorded):
 * - a match creates the job's pending row when it has none (the reconciler's backoff starting at
 *   the match), and moves the match of a row still open; a closed row stays as it is;
 * - a job's end or contract outcome closes its pending row (creating it closed when the match is not
 *   known yet);
 * - an open recorded or timed out is upserted whole (the chain check's findings reset), an open
 *   given up as lost is deleted, a late open deletes a timed-out record, a restored open moves the
 *   record there (and resets the findings), a lost open deletes it.
 * Pure.
 */
export function foldOpensBatch(events: readonly StoredEvent[], jobIds: readonly string[], pendingBefore: readonly Pick<PendingOpenRow, 'jobId' | 'closed'>[], recordedBefore: readonly Pick<RecordedOpenRow, 'jobId' | 'kind'>[]): OpensBatchFold {
  const pending = new RowsFold<PendingOpenRow>('jobId', jobIds, pendingBefore);
  const recorded = new RowsFold<RecordedOpenRow>('jobId', jobIds, recordedBefore);
  const close = (jobId: string): void => pending.upsert({ jobId, closed: true });
  /** The chain check's findings of a record, none yet. */
  const unchecked = { verifiedBlockHash: null, lostSinceMs: null, restoreAttempts: 0, restoreNextAtMs: null, lastError: null };
  for (const { event, seq } of events) {
    const e = event as TradeEvent;
    switch (e.type) {
      case 'JobMatched': {
        const matchedAtMs = String(Date.parse(e.occurredAt));
        pending.insertOrIgnore({ jobId: e.data.jobId, matchedSeq: String(seq), matchedAtMs, closed: false, attempts: 0, nextAttemptAtMs: matchedAtMs });
        pending.update(e.data.jobId, { matchedSeq: String(seq), matchedAtMs }, (row) => row.closed === false);
        break;
      }
      case 'JobCancelled':
      case 'JobFailed':
        close(e.data.jobId);
        break;
      case 'ContractOpened':
        close(e.data.jobId);
        recorded.upsert({ jobId: e.data.jobId, seq: String(seq), kind: 'opened', txHash: e.data.txHash, blockNumber: e.data.blockNumber, ...unchecked });
        break;
      case 'ContractOpenFailed':
        close(e.data.jobId);
        if (e.data.code === OPEN_TIMED_OUT) recorded.upsert({ jobId: e.data.jobId, seq: String(seq), kind: 'timed-out', txHash: null, blockNumber: null, ...unchecked });
        else recorded.delete(e.data.jobId);
        break;
      case 'ChainEffectRestored':
        if (e.data.action !== 'open') break;
        recorded.delete(e.data.jobId, (row) => row.kind === 'timed-out');
        recorded.update(e.data.jobId, { seq: String(seq), txHash: e.data.txHash, blockNumber: e.data.blockNumber, ...unchecked });
        break;
      case 'ChainEffectLost':
        if (e.data.action === 'open') recorded.delete(e.data.jobId);
        break;
      default:
        break;
    }
  }
  return { pending, recorded };
}

/**
 * Writes a whole batch of the deployer's opens with a handful of statements, where `applyToOpens`
 * writes one to three per event: one SELECT a table of the jobs the batch names, then per table a
 * DELETE, one INSERT ... ON CONFLICT a set of columns written and one UPDATE ... FROM unnest(...)
 * for the patches. The rows are those the per-event path leaves (foldOpensBatch); the reconciler's
 * and the chain check's columns are written only where an event writes them. A batch of one event
 * takes the per-event path.
 */
export async function applyOpensBatch(em: EntityManager, events: readonly StoredEvent[]): Promise<void> {
  if (events.length <= 1) {
    for (const e of events) await applyToOpens(em, e);
    return;
  }
  const jobIds = opensReadBy(events);
  const pendingBefore = await readRows(em, PendingOpenRow, 'jobId', jobIds, { jobId: true, closed: true });
  const recordedBefore = await readRows(em, RecordedOpenRow, 'jobId', jobIds, { jobId: true, kind: true });
  const fold = foldOpensBatch(events, jobIds, pendingBefore, recordedBefore);
  await writeRowsFold(em, PendingOpenRow, 'jobId', fold.pending.writes());
  await writeRowsFold(em, RecordedOpenRow, 'jobId', fold.recorded.writes());
}
