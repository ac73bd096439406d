import { EXAMPLE_EVENT_DATA, type EventData, type EventType } from '@starminer/events';
import { applyStored, readModelPerSpec, storedEvent } from '../testing/read-model.testing';
import { JobView, MarketSurgeView, VIEW_ENTITIES } from './entities';
import { applyViewsBatch } from './views-batch';
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

describe('the gateway view of a market\'s surge', () => {
  const T = Date.UTC(2026, 10, 28, 12, 0, 0);
  const MIN = 60_000;
  const started = (region: string, atMs: number): EventData<'SurgeStarted'> => ({ ...EXAMPLE_EVENT_DATA.SurgeStarted, gpuClass: 'H100', region, atMs });
  const ended = (region: string, atMs: number, startedAtMs: number): EventData<'SurgeEnded'> => ({ ...EXAMPLE_EVENT_DATA.SurgeEnded, gpuClass: 'H100', region, atMs, startedAtMs, calmSinceMs: atMs - 5 * MIN });
  const surgeOf = (region: string) => model.ds.getRepository(MarketSurgeView).findOneByOrFail({ gpuClass: 'H100', region });

  it('given a calm market, when its surge starts, ends, and its start comes back late, then it shows the surge, then none, and the late start changes nothing', async () => {
    await apply('SurgeStarted', started('gwt-one', T));
    expect(await surgeOf('gwt-one')).toEqual({ gpuClass: 'H100', region: 'gwt-one', surgeSince: new Date(T), changedAt: new Date(T), lastSeq: String(seq) });

    await apply('SurgeEnded', ended('gwt-one', T + 10 * MIN, T));
    const calm = { gpuClass: 'H100', region: 'gwt-one', surgeSince: null, changedAt: new Date(T + 10 * MIN), lastSeq: String(seq) };
    expect(await surgeOf('gwt-one')).toEqual(calm);

    // later on the log, older by the engine's time: the engine's own start coming back after its end
    await apply('SurgeStarted', started('gwt-one', T));
    expect(await surgeOf('gwt-one')).toEqual(calm);

    // a new surge, later than the end
    await apply('SurgeStarted', started('gwt-one', T + 20 * MIN));
    expect(await surgeOf('gwt-one')).toMatchObject({ surgeSince: new Date(T + 20 * MIN), changedAt: new Date(T + 20 * MIN) });
  });

  it('given the same changes, with redeliveries, written a batch at a time, then the batch path leaves the per-event path\'s row', async () => {
    const changes = (region: string) =>
      [
        storedEvent('SurgeStarted', started(region, T), 1_001),
        storedEvent('SurgeStarted', started(region, T), 1_001), // delivered again at once
        storedEvent('SurgeEnded', ended(region, T + 10 * MIN, T), 1_002),
        storedEvent('SurgeStarted', started(region, T), 1_003), // late, older
        storedEvent('SurgeStarted', started(region, T), 1_001), // delivered again after the end
      ] as const;
    for (const e of changes('gwt-per-event')) await applyStored(model.ds, applyToViews, e);
    await model.ds.transaction((em) => applyViewsBatch(em, [...changes('gwt-batch')]));
    // a batch on a row there: the late start and the redelivery leave it
    await model.ds.transaction((em) => applyViewsBatch(em, [...changes('gwt-batch')].slice(3)));
    const perEvent = await surgeOf('gwt-per-event');
    expect(perEvent).toEqual({ gpuClass: 'H100', region: 'gwt-per-event', surgeSince: null, changedAt: new Date(T + 10 * MIN), lastSeq: '1002' });
    expect(await surgeOf('gwt-batch')).toEqual({ ...perEvent, region: 'gwt-batch' });
  });
});
