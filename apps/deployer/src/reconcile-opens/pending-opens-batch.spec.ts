import type { DataSource } from 'typeorm';
import {
  applyPerEvent,
  cleared,
  every,
  itKeepsWhatAnotherWriterWrites,
  itWritesWhatThePerEventPathWrites,
  marketLog,
  readModelPerSpec,
  redelivered,
  rowsOf as rowsIn,
  type BatchPath,
} from '@starminer/service-testing';
import type { StoredEvent } from '@starminer/trade-log';
import { PendingOpenRow, RecordedOpenRow } from './open-rows.entity';
import { applyOpensBatch, foldOpensBatch, opensReadBy } from './pending-opens-batch';
import { applyToOpens, PENDING_OPENS_MODEL } from './pending-opens.projection';

/**
 * The batch path of the deployer's opens (applyOpensBatch) against the per-event path
 * (applyToOpens), on a real Postgres: a market's log (matches, matched twice, cancelled after a
 * match, opens recorded, timed out and landing late, lost, restored), with events delivered again
 * (a match after its job ended, a timed-out open after its late open, an open after its loss and
 * after its restore), applied once per event into one database and in batches into another, leaves
 * both tables the same, row for row, the reconciler's and the chain check's columns included.
 */
const ENTITIES = [PendingOpenRow, RecordedOpenRow];
const perEvent = readModelPerSpec(ENTITIES);
const batched = readModelPerSpec(ENTITIES);

function logUnderTest(): StoredEvent[] {
  const { log, at, of, insertAfter } = redelivered(marketLog({ jobs: 48, seed: 9 }), '');
  const action = (type: string, a: string, nth = 0) => log.filter((s) => s.event.type === type && (s.event.data as { action: string }).action === a)[nth]!;
  insertAfter(at('JobMatched', 0), at('JobMatched', 0), 0);
  insertAfter(at('JobCancelled', 0, 'JobMatched'), of('JobMatched', at('JobCancelled', 0, 'JobMatched')), 2);
  // a late open, then its timed-out give-up again: the record comes back, timed out
  const late = log.filter((s) => s.event.type === 'ChainEffectRestored' && (s.event.data as { action: string }).action === 'open').find((s) => log.some((f) => f.event.type === 'ContractOpenFailed' && (f.event.data as { jobId: string }).jobId === (s.event.data as { jobId: string }).jobId))!;
  insertAfter(late, of('ContractOpenFailed', late), 3);
  insertAfter(action('ChainEffectLost', 'open'), of('ContractOpened', action('ChainEffectLost', 'open')), 5);
  insertAfter(action('ChainEffectRestored', 'open'), action('ChainEffectRestored', 'open'), 7);
  // an open after its restore: the record goes back to the first open
  const jobOf = (s: StoredEvent): string => (s.event.data as { jobId: string }).jobId;
  const restoredOpen = log.filter((s) => s.event.type === 'ChainEffectRestored' && (s.event.data as { action: string }).action === 'open' && log.some((o) => o.event.type === 'ContractOpened' && jobOf(o) === jobOf(s)))[1]!;
  insertAfter(restoredOpen, of('ContractOpened', restoredOpen), 1);
  return log;
}

const LOG = logUnderTest();
const OPENS: BatchPath = { apply: applyOpensBatch, entities: ENTITIES };
const rowsOf = (ds: DataSource) => rowsIn(OPENS, ds);

let expected: Record<string, unknown[]>;

beforeAll(async () => {
  await applyPerEvent(perEvent.ds, applyToOpens, LOG);
  expected = await rowsOf(perEvent.ds);
}, 120_000);

describe("the deployer's opens written a batch at a time", () => {
  it('given the log applied per event, then it is a market worth comparing: pending rows closed with and without a match, opens recorded and timed out', () => {
    const pending = expected.pending_opens as { closed: boolean; matchedSeq: string | null }[];
    expect(pending.every((p) => p.closed)).toBe(true);
    expect(pending.some((p) => p.matchedSeq === null)).toBe(true);
    expect(new Set((expected.recorded_opens as { kind: string }[]).map((r) => r.kind))).toEqual(new Set(['opened', 'timed-out']));
    expect(LOG.length).toBeGreaterThan(400);
    expect(PENDING_OPENS_MODEL.applyBatch).toBeDefined();
  });

  it('given only matches, then each pending row is open, its backoff starting at the match', async () => {
    const matched = LOG.filter((s) => s.event.type === 'JobMatched').slice(0, 5);
    await cleared(OPENS, batched.ds);
    await batched.ds.transaction((em) => applyOpensBatch(em, matched));
    const open = (await rowsOf(batched.ds)).pending_opens as { closed: boolean; attempts: number; nextAttemptAtMs: string }[];
    expect(open.length).toBeGreaterThan(1);
    expect(open.every((p) => !p.closed && p.attempts === 0 && Number(p.nextAttemptAtMs) > 0)).toBe(true);
  });

  itWritesWhatThePerEventPathWrites(OPENS, () => batched.ds, LOG, () => expected);

  itKeepsWhatAnotherWriterWrites(OPENS, applyToOpens, () => ({ perEvent: perEvent.ds, batched: batched.ds }), LOG, {
    // often, and none in the last fifth: rows the writer moved and rows it never saw
    cuts: every(16, LOG.length).filter((c) => c < LOG.length * 0.8),
    // the reconciler's backoff on the opens still pending, the chain check's findings on every record
    touch: async (ds) => {
      await ds.query(`UPDATE pending_opens SET attempts = attempts + 1, "nextAttemptAtMs" = '99', "lastError" = 'no receipt' WHERE closed = false`);
      // counted up, so a reset the batch path missed shows even when a later touch comes
      await ds.query(
        `UPDATE recorded_opens SET "verifiedBlockHash" = '0xabc', "lostSinceMs" = COALESCE("lostSinceMs", 0) + 1, "restoreAttempts" = "restoreAttempts" + 1, "restoreNextAtMs" = '6', "lastError" = 'lost', "blockNumber" = '999'`,
      );
    },
    expectTouched: (rows) => {
      const pending = rows.pending_opens as { attempts: number }[];
      const recorded = rows.recorded_opens as { restoreAttempts: number }[];
      expect(pending.some((p) => p.attempts > 0)).toBe(true);
      expect(pending.some((p) => p.attempts === 0)).toBe(true);
      expect(recorded.some((r) => r.restoreAttempts > 0)).toBe(true);
      expect(recorded.some((r) => r.restoreAttempts === 0)).toBe(true);
    },
  });

  it('given a batch, then the fold writes at most one row or patch per key, a table', () => {
    const fold = foldOpensBatch(LOG, opensReadBy(LOG), [], []);
    for (const writes of [fold.pending.writes(), fold.recorded.writes()]) {
      const keys = [...writes.upserted.map((r) => r.jobId!), ...writes.updated.keys()];
      expect(new Set(keys).size).toBe(keys.length);
      expect(new Set(writes.deleted).size).toBe(writes.deleted.length);
    }
  });

  it('when the whole log is one batch, then it takes a handful of statements: one read a table, then a few writes a table', async () => {
    await cleared(OPENS, batched.ds);
    const statements = await batched.ds.transaction(async (em) => {
      // every statement, the repository's reads too, goes through the transaction's query runner
      const query = jest.spyOn(em.queryRunner!, 'query');
      await applyOpensBatch(em, LOG);
      return query.mock.calls.length;
    });
    expect(statements).toBeGreaterThan(2);
    expect(statements).toBeLessThanOrEqual(14);
    expect(await rowsOf(batched.ds)).toEqual(expected);
  });
});
