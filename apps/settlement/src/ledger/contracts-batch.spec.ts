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
import { makeEvent, type EventData, type EventType } from '@starminer/events';
import type { StoredEvent } from '@starminer/trade-log';
import { ContractRow } from './contract-row.entity';
import { applyContractsBatch, contractsReadBy, foldContractsBatch } from './contracts-batch';
import { applyToContracts, CONTRACTS_MODEL } from './contracts.projection';
import { LedgerEntry } from './ledger-entry.entity';

/**
 * The batch path of the contracts projection (applyContractsBatch) against the per-event path
 * (applyToContracts), on a real Postgres: a market's log with every end a contract reaches
 * (released, refunded after a rejected result, restored, lost, lost then restored, open failed,
 * started before its contract is recorded), and events delivered again (at once, and long after
 * the contract moved on: an open after its settlement, a release after its restore, a decision
 * after the release), applied once per event into one database and in batches into another,
 * leaves both tables the same, row for row, the reconciler's columns included.
 */
const ENTITIES = [ContractRow, LedgerEntry];
const perEvent = readModelPerSpec(ENTITIES);
const batched = readModelPerSpec(ENTITIES);

function logUnderTest(): StoredEvent[] {
  const { log, at, of, insertAfter } = redelivered(marketLog({ jobs: 48, seed: 3 }), '');
  const action = (type: string, a: string, nth = 0) => log.filter((s) => s.event.type === type && (s.event.data as { action: string }).action === a)[nth]!;
  insertAfter(at('ContractReleased', 0), at('ContractReleased', 0), 0);
  // an open after its contract settled (the upsert opens it again, as per event), and after a settlement was lost
  insertAfter(at('ContractReleased', 2), of('ContractOpened', at('ContractReleased', 2)), 4);
  insertAfter(action('ChainEffectLost', 'release'), of('ContractOpened', action('ChainEffectLost', 'release')), 2);
  // a release after its restore (the ledger's transaction goes back), a decision after its refund, a rejection again
  insertAfter(action('ChainEffectRestored', 'release'), of('ContractReleased', action('ChainEffectRestored', 'release')), 3);
  insertAfter(at('ContractRefunded', 1), of('SettlementDecided', at('ContractRefunded', 1)), 6);
  insertAfter(at('ContractRefunded', 0), of('ResultRejected', at('ContractRefunded', 0)), 1);
  // a loss and a restore again, later
  insertAfter(action('ChainEffectLost', 'refund'), action('ChainEffectLost', 'refund'), 9);
  insertAfter(action('ChainEffectRestored', 'refund'), action('ChainEffectRestored', 'refund'), 12);
  // top-ups (issue 16): the escrow and the deadline move, the ledger gains the top-up; a runway warning; one top-up delivered again later
  for (const [i, nth] of [0, 1, 2, 5, 9].entries()) {
    const opened = at('ContractOpened', nth);
    const o = opened.event.data as EventData<'ContractOpened'>;
    const toppedUp = extra('ContractToppedUp', o.jobId, 900_000 + 2 * i, {
      jobId: o.jobId,
      topUpId: `tu-batch-${i}`,
      extraCostWei: 10n ** 15n * BigInt(i + 1),
      extraRuntimeSec: 600,
      newCostWei: o.escrowWei + 10n ** 15n * BigInt(i + 1),
      newDeadlineUnixSec: o.deadlineUnixSec + 600,
      txHash: `0x${'7c'.repeat(31)}${String(10 + i)}`,
      blockNumber: String(500 + i),
    });
    const low = extra('ContractRunwayLow', o.jobId, 900_001 + 2 * i, { jobId: o.jobId, deadlineUnixSec: o.deadlineUnixSec, atUnixSec: o.deadlineUnixSec - 100, runwaySec: 100, thresholdSec: 900 });
    insertAfter(opened, low, 0);
    insertAfter(low, toppedUp, 0);
    if (i === 2) insertAfter(toppedUp, toppedUp, 11);
  }
  return log;
}

/** An event the market log does not hold, with a seq of its own above the log's. */
function extra<T extends EventType>(type: T, jobId: string, seq: number, data: EventData<T>): StoredEvent {
  const event = makeEvent(type, data, { id: `extra-${seq}`, aggregateId: jobId, occurredAt: '2026-01-15T12:00:00.000Z', correlationId: jobId, causationId: jobId, actor: 'test' });
  return { seq, subject: `trade.contract.${jobId}`, redelivered: false, event };
}

const LOG = logUnderTest();
const CONTRACTS: BatchPath = { apply: applyContractsBatch, entities: ENTITIES };
const rowsOf = (ds: DataSource) => rowsIn(CONTRACTS, ds);

let expected: Record<string, unknown[]>;

beforeAll(async () => {
  await applyPerEvent(perEvent.ds, applyToContracts, LOG);
  expected = await rowsOf(perEvent.ds);
}, 120_000);

describe('the contracts and their ledger written a batch at a time', () => {
  it('given the log applied per event, then it is a market worth comparing: every status a contract ends in, every kind of ledger entry', () => {
    const contracts = expected.contracts as { status: string; rejected: boolean; settleTxHash: string | null }[];
    expect(new Set(contracts.map((c) => c.status))).toEqual(new Set(['open', 'released', 'refunded', 'settle-lost', 'open-failed']));
    expect(contracts.some((c) => c.rejected)).toBe(true);
    expect(new Set((expected.ledger as { kind: string }[]).map((l) => l.kind))).toEqual(new Set(['escrow-locked', 'escrow-topped-up', 'released', 'refunded', 'settle-lost']));
    expect(contracts.filter((c) => (c as { runwayWarnedUnixSec?: string | null }).runwayWarnedUnixSec).length).toBeGreaterThan(0);
    expect(LOG.length).toBeGreaterThan(400);
    expect(CONTRACTS_MODEL.applyBatch).toBeDefined();
  });

  itWritesWhatThePerEventPathWrites(CONTRACTS, () => batched.ds, LOG, () => expected);

  itKeepsWhatAnotherWriterWrites(CONTRACTS, applyToContracts, () => ({ perEvent: perEvent.ds, batched: batched.ds }), LOG, {
    // often, and none in the last fifth: rows the writer moved and rows it never saw
    cuts: every(16, LOG.length).filter((c) => c < LOG.length * 0.8),
    // the reconciler's bookkeeping on every contract so far: a settlement's, a loss's or a failed open's event resets it, a restore clears the slash
    touch: async (ds) => {
      // counted up (the slash flipped), so a reset the batch path missed shows even when a later touch comes
      await ds.query(
        `UPDATE contracts SET "retryAttempts" = "retryAttempts" + 1, "retryAt" = COALESCE("retryAt", '2026-02-01T00:00:00Z') + interval '1 hour', "pendingSince" = '2026-01-15T00:00:00Z', "slashDone" = NOT "slashDone"`,
      );
    },
    expectTouched: (rows) => {
      const contracts = rows.contracts as { retryAttempts: number; slashDone: boolean }[];
      expect(contracts.some((c) => c.retryAttempts > 0)).toBe(true);
      expect(contracts.some((c) => c.retryAttempts === 0)).toBe(true);
      expect(contracts.some((c) => c.slashDone)).toBe(true);
      expect(contracts.some((c) => !c.slashDone)).toBe(true);
    },
  });

  it('given a batch, then the fold writes at most one row or patch per key', () => {
    const reads = contractsReadBy(LOG);
    const fold = foldContractsBatch(LOG, { ...reads, ledgerJobIds: reads.jobIds }, [], []);
    const contracts = fold.contracts.writes();
    const keys = [...contracts.upserted.map((r) => r.jobId!), ...contracts.updated.keys()];
    expect(new Set(keys).size).toBe(keys.length);
    const ledger = fold.ledger.writes();
    expect(new Set(ledger.upserted.map((r) => r.eventId)).size).toBe(ledger.upserted.length);
    // from an empty table, every contract the batch opens is written whole once; the others (never opened) not at all
    expect(contracts.updated.size).toBe(0);
  });

  it('given a batch that restores or loses a settlement without reading that job ledger, then the fold refuses to guess', () => {
    const lost = LOG.filter((s) => s.event.type === 'ChainEffectLost' && (s.event.data as { action: string }).action !== 'open').slice(0, 1);
    expect(() => foldContractsBatch(lost, { ...contractsReadBy(lost), ledgerJobIds: [] }, [], [])).toThrow(/was not read/);
  });

  it('when the whole log is one batch, then it takes a handful of statements: two reads, then a few a table', async () => {
    await cleared(CONTRACTS, batched.ds);
    const statements = await batched.ds.transaction(async (em) => {
      // every statement, the repository's reads too, goes through the transaction's query runner
      const query = jest.spyOn(em.queryRunner!, 'query');
      await applyContractsBatch(em, LOG);
      return query.mock.calls.length;
    });
    expect(statements).toBeGreaterThan(2);
    expect(statements).toBeLessThanOrEqual(16);
    expect(await rowsOf(batched.ds)).toEqual(expected);
  });
});
