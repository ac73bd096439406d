import { EXAMPLE_EVENT_DATA, type EventData, type EventType } from '@starminer/events';
import { applyStored, readModelPerSpec, storedEvent } from '../testing/read-model.testing';
import { JobView, VIEW_ENTITIES } from './entities';
import { applyToViews } from './views.projection';

/** The gateway's job view of a settlement the chain lost: applied on a real Postgres, in log order, each event twice. */
const model = readModelPerSpec(VIEW_ENTITIES);
let seq = 0;

const TX = `0x${'ab'.repeat(32)}`;
const TX2 = `0x${'cd'.repeat(32)}`;

async function apply<T extends EventType>(type: T, data: EventData<T>): Promise<void> {
  // delivered twice (at least once): the same rows
  await applyStored(model.ds, applyToViews, storedEvent(type, data, ++seq), 2);
}

const jobOf = (jobId: string) => model.ds.getRepository(JobView).findOneByOrFail({ jobId });

async function settled(jobId: string): Promise<void> {
  await apply('JobSubmitted', { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId });
  await apply('ContractOpened', { ...EXAMPLE_EVENT_DATA.ContractOpened, jobId, txHash: TX });
  await apply('SettlementDecided', { jobId, outcome: 'release', reason: 'result and proof verified' });
  await apply('ContractReleased', { ...EXAMPLE_EVENT_DATA.ContractReleased, jobId, txHash: TX, blockNumber: '12' });
}

describe('the gateway job view of chain effects restored or lost', () => {
  it('given a settled job whose release the chain lost and settlement carried out again, then the job shows the restored transaction', async () => {
    await settled('job-v1');
    expect(await jobOf('job-v1')).toMatchObject({ status: 'settled', settleTxHash: TX });
    await apply('ChainEffectRestored', { jobId: 'job-v1', action: 'release', previousTxHash: TX, txHash: TX2, blockNumber: '14' });
    expect(await jobOf('job-v1')).toMatchObject({ status: 'settled', settleTxHash: TX2, openTxHash: TX });
  });

  it('given an open restored, then the job shows the new open transaction and keeps its status', async () => {
    await settled('job-v2');
    await apply('ChainEffectRestored', { jobId: 'job-v2', action: 'open', previousTxHash: TX, txHash: TX2, blockNumber: '13' });
    expect(await jobOf('job-v2')).toMatchObject({ status: 'settled', openTxHash: TX2, settleTxHash: TX });
  });

  it('given a release the chain lost for good, then the job shows no settle transaction, is failed, and says why', async () => {
    await settled('job-v3');
    await apply('ChainEffectLost', { jobId: 'job-v3', action: 'release', previousTxHash: TX, code: 'OPEN_LOST', reason: 'the open was lost and not restored' });
    expect(await jobOf('job-v3')).toMatchObject({ status: 'failed', settleTxHash: null, failureCode: 'OPEN_LOST', failureReason: 'the open was lost and not restored' });
  });
});
