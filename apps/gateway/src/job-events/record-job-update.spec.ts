import { EXAMPLE_EVENT_DATA, type EventData, type EventType, type JobUpdate } from '@starminer/events';
import { applyStored, readModelPerSpec, storedEvent } from '../testing/read-model.testing';
import { JobView, VIEW_ENTITIES } from '../views/entities';
import { applyToViews } from '../views/views.projection';
import { JobUpdateRow } from './job-update.entity';

/**
 * The job updates clients see (SSE, history) are written by the views projection with the view,
 * on a real Postgres, in log order, each event delivered twice; and the view's status is the
 * status of the job's last update after every event (one vocabulary).
 */
const model = readModelPerSpec(VIEW_ENTITIES);
let seq = 0;

const TX = `0x${'ab'.repeat(32)}`;
const TX2 = `0x${'cd'.repeat(32)}`;

/** Applies one event twice (at least once delivery); checks the view's status is its last update's. */
async function apply<T extends EventType>(type: T, data: EventData<T>): Promise<number> {
  seq += 1;
  const stored = storedEvent(type, data, seq, new Date(Date.UTC(2026, 0, 1, 0, 0, seq)));
  await applyStored(model.ds, applyToViews, stored, 2);
  const jobId = (data as { jobId?: string }).jobId;
  if (jobId) {
    const view = await model.ds.getRepository(JobView).findOneBy({ jobId });
    const last = (await updatesOf(jobId)).at(-1);
    if (view && last) expect({ jobId, view: view.status }).toEqual({ jobId, view: last.status });
  }
  return seq;
}

async function updatesOf(jobId: string): Promise<JobUpdate[]> {
  const rows = await model.ds.getRepository(JobUpdateRow).find({ where: { jobId }, order: { seq: 'ASC' } });
  return rows.map((r) => r.data as JobUpdate);
}

const submit = (jobId: string, orgId = 'org-1') => apply('JobSubmitted', { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId, orgId });

describe('the job updates the views projection writes', () => {
  it('given a job run to settlement, then its updates are one per event a client sees, in log order, with its org, written once', async () => {
    const s1 = await submit('job-u1', 'org-7');
    const s2 = await apply('JobWaiting', { ...EXAMPLE_EVENT_DATA.JobWaiting, jobId: 'job-u1' });
    const s3 = await apply('JobMatched', { ...EXAMPLE_EVENT_DATA.JobMatched, jobId: 'job-u1' });
    const s4 = await apply('ContractOpened', { ...EXAMPLE_EVENT_DATA.ContractOpened, jobId: 'job-u1', txHash: TX });
    const s5 = await apply('JobStarted', { jobId: 'job-u1', nodeId: 'node-1' });
    const s6 = await apply('ResultSubmitted', { ...EXAMPLE_EVENT_DATA.ResultSubmitted, jobId: 'job-u1' });
    const s7 = await apply('SettlementDecided', { jobId: 'job-u1', outcome: 'release', reason: 'result and proof verified' });
    const s8 = await apply('ContractReleased', { ...EXAMPLE_EVENT_DATA.ContractReleased, jobId: 'job-u1', txHash: TX2, blockNumber: '12' });
    await apply('NodeReputationChanged', { ...EXAMPLE_EVENT_DATA.NodeReputationChanged, jobId: 'job-u1' }); // of the node: no update

    const updates = await updatesOf('job-u1');
    expect(updates.map((u) => [u.seq, u.type, u.status])).toEqual([
      [String(s1), 'job.queued', 'queued'],
      [String(s2), 'job.waiting', 'queued'],
      [String(s3), 'job.matched', 'matched'],
      [String(s4), 'job.contracted', 'contracted'],
      [String(s5), 'job.running', 'running'],
      [String(s6), 'job.result-submitted', 'running'],
      [String(s7), 'job.completed', 'completed'],
      [String(s8), 'job.settled', 'settled'],
    ]);
    expect(updates[1]).toMatchObject({ waitingReason: EXAMPLE_EVENT_DATA.JobWaiting.reason, eventId: `e-${s2}`, jobId: 'job-u1' });
    expect(updates[3]).toMatchObject({ contractAddress: EXAMPLE_EVENT_DATA.ContractOpened.contractAddress, txHash: TX, blockNumber: '7' });
    expect(updates[7]).toMatchObject({ txHash: TX2, blockNumber: '12', at: new Date(Date.UTC(2026, 0, 1, 0, 0, s8)).toISOString() });
    const rows = await model.ds.getRepository(JobUpdateRow).find({ where: { jobId: 'job-u1' } });
    expect(new Set(rows.map((r) => r.orgId))).toEqual(new Set(['org-7']));
  });

  it('given a result before the job was started, then its update keeps the status the job has (contracted), as the view does', async () => {
    await submit('job-u2');
    await apply('JobMatched', { ...EXAMPLE_EVENT_DATA.JobMatched, jobId: 'job-u2' });
    await apply('ContractOpened', { ...EXAMPLE_EVENT_DATA.ContractOpened, jobId: 'job-u2' });
    await apply('ResultSubmitted', { ...EXAMPLE_EVENT_DATA.ResultSubmitted, jobId: 'job-u2' });
    await apply('ResultRejected', { ...EXAMPLE_EVENT_DATA.ResultRejected, jobId: 'job-u2' });
    await apply('SettlementDecided', { jobId: 'job-u2', outcome: 'refund', reason: 'result rejected' });
    await apply('ContractRefunded', { ...EXAMPLE_EVENT_DATA.ContractRefunded, jobId: 'job-u2' });
    expect((await updatesOf('job-u2')).map((u) => [u.type, u.status])).toEqual([
      ['job.queued', 'queued'],
      ['job.matched', 'matched'],
      ['job.contracted', 'contracted'],
      ['job.result-submitted', 'contracted'],
      ['job.result-rejected', 'contracted'],
      ['job.refunded', 'refunded'],
    ]);
  });

  it('given a settled job whose release the chain lost and settlement carried out again, then the restored transaction is an update with the status the job had', async () => {
    await submit('job-u3');
    await apply('ContractOpened', { ...EXAMPLE_EVENT_DATA.ContractOpened, jobId: 'job-u3', txHash: TX });
    await apply('SettlementDecided', { jobId: 'job-u3', outcome: 'release', reason: 'result and proof verified' });
    await apply('ContractReleased', { ...EXAMPLE_EVENT_DATA.ContractReleased, jobId: 'job-u3', txHash: TX });
    const restored = await apply('ChainEffectRestored', { jobId: 'job-u3', action: 'release', previousTxHash: TX, txHash: TX2, blockNumber: '14' });
    expect((await updatesOf('job-u3')).at(-1)).toMatchObject({ seq: String(restored), type: 'job.chain-effect-restored', status: 'settled', txHash: TX2, blockNumber: '14' });
    // then lost for good: the job fails, and says why
    await apply('ChainEffectLost', { jobId: 'job-u3', action: 'release', previousTxHash: TX2, code: 'RELEASE_LOST', reason: 'the release was lost and not restored' });
    expect((await updatesOf('job-u3')).at(-1)).toMatchObject({ type: 'job.failed', status: 'failed', failure: { code: 'RELEASE_LOST' } });
  });

  it('given a job cancelled while queued, then its updates end job.cancelled', async () => {
    await submit('job-u4');
    await apply('JobCancelled', { jobId: 'job-u4', reason: 'cancelled by requester' });
    expect((await updatesOf('job-u4')).map((u) => [u.type, u.status, u.failure?.code])).toEqual([
      ['job.queued', 'queued', undefined],
      ['job.cancelled', 'cancelled', 'CANCELLED'],
    ]);
  });

  it('given events of a job the view never had, or of no job, then no update is written', async () => {
    await apply('JobMatched', { ...EXAMPLE_EVENT_DATA.JobMatched, jobId: 'job-unknown' });
    await apply('PriceChanged', EXAMPLE_EVENT_DATA.PriceChanged);
    await apply('NodeRegistered', { ...EXAMPLE_EVENT_DATA.NodeRegistered, nodeId: 'node-u5' });
    expect(await updatesOf('job-unknown')).toEqual([]);
    expect(await model.ds.getRepository(JobUpdateRow).count()).toBe(8 + 6 + 6 + 2);
  });
});
