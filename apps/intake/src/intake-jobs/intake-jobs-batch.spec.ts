import type { DataSource } from 'typeorm';
import { applyPerEvent, cleared, itWritesWhatThePerEventPathWrites, marketLog, readModelPerSpec, redelivered, rowsOf as rowsIn, type BatchPath } from '@starminer/service-testing';
import type { StoredEvent } from '@starminer/trade-log';
import { IntakeJob } from './intake-job.entity';
import { applyIntakeJobsBatch, foldIntakeJobsBatch, intakeJobsReadBy } from './intake-jobs-batch';
import { applyToIntakeJobs, INTAKE_JOBS_MODEL } from './intake-jobs.projection';

/**
 * The batch path of intake's jobs (applyIntakeJobsBatch) against the per-event path
 * (applyToIntakeJobs), on a real Postgres: a market's log (reservations, submissions, matches,
 * releases, failures and cancellations, before and after a match), with events delivered again (a
 * match after its job was cancelled, a submission after its match, a reservation after its
 * release), applied once per event into one database and in batches into another, leaves the
 * table the same, row for row.
 */
const perEvent = readModelPerSpec([IntakeJob]);
const batched = readModelPerSpec([IntakeJob]);

function logUnderTest(): StoredEvent[] {
  const { log, at, of, insertAfter } = redelivered(marketLog({ jobs: 40, seed: 5 }), '');
  insertAfter(at('JobMatched', 0), at('JobMatched', 0), 0);
  insertAfter(at('JobCancelled', 0, 'JobMatched'), of('JobMatched', at('JobCancelled', 0, 'JobMatched')), 2);
  insertAfter(at('JobStarted', 3), of('JobSubmitted', at('JobStarted', 3)), 5);
  insertAfter(at('FundsReleased', 6), of('FundsReserved', at('FundsReleased', 6)), 8);
  insertAfter(at('JobFailed', 0), of('JobSubmitted', at('JobFailed', 0)), 1);
  return log;
}

const LOG = logUnderTest();
const INTAKE_JOBS: BatchPath = { apply: applyIntakeJobsBatch, entities: [IntakeJob] };
const rowsOf = (ds: DataSource) => rowsIn(INTAKE_JOBS, ds);

let expected: Record<string, unknown[]>;

beforeAll(async () => {
  await applyPerEvent(perEvent.ds, applyToIntakeJobs, LOG);
  expected = await rowsOf(perEvent.ds);
}, 120_000);

describe("intake's jobs written a batch at a time", () => {
  it('given the log applied per event, then it is a market worth comparing: every status, reservations open and released', () => {
    const jobs = expected.intake_jobs as { status: string | null; reservationOpen: boolean }[];
    expect(new Set(jobs.map((j) => j.status))).toEqual(new Set(['queued', 'matched', 'closed']));
    expect(new Set(jobs.map((j) => j.reservationOpen))).toEqual(new Set([true, false]));
    expect(LOG.length).toBeGreaterThan(300);
    expect(INTAKE_JOBS_MODEL.applyBatch).toBeDefined();
  });

  itWritesWhatThePerEventPathWrites(INTAKE_JOBS, () => batched.ds, LOG, () => expected);

  it('given a match of a job the table does not have, or of a job no longer queued, then the fold moves nothing', () => {
    const matched = LOG.find((s) => s.event.type === 'JobMatched')!;
    const jobId = (matched.event.data as { jobId: string }).jobId;
    expect(foldIntakeJobsBatch([matched, matched], [jobId], []).writes()).toEqual({ deleted: [], upserted: [], updated: new Map() });
    expect(foldIntakeJobsBatch([matched, matched], [jobId], [{ jobId, status: 'closed' }]).writes().updated.size).toBe(0);
    expect(foldIntakeJobsBatch([matched, matched], [jobId], [{ jobId, status: 'queued' }]).writes().updated).toEqual(new Map([[jobId, { status: 'matched' }]]));
  });

  it('when the whole log is one batch, then it takes a handful of statements: one read, then a few writes', async () => {
    await cleared(INTAKE_JOBS, batched.ds);
    const statements = await batched.ds.transaction(async (em) => {
      // every statement, the repository's reads too, goes through the transaction's query runner
      const query = jest.spyOn(em.queryRunner!, 'query');
      await applyIntakeJobsBatch(em, LOG);
      return query.mock.calls.length;
    });
    expect(statements).toBeGreaterThan(1);
    expect(statements).toBeLessThanOrEqual(8);
    expect(await rowsOf(batched.ds)).toEqual(expected);
    // the 40 jobs, and the one a node's probe names (no row of it)
    expect(intakeJobsReadBy(LOG)).toHaveLength(41);
  });
});
