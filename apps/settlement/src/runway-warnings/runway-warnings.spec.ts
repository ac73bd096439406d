import { draft } from '@starminer/domain';
import { EXAMPLE_EVENT_DATA, type TradeEvent } from '@starminer/events';
import { appendDrafts, eventually, serviceUnderTest } from '@starminer/service-testing';
import { ContractRow } from '../ledger/contract-row.entity';
import { SettlementModule } from '../settlement.module';
import { eventsOf, openContract } from '../testing/settlement-fixture';
import { RUNWAY_WARNING_MIN_SEC_DEFAULT, runwayThresholdSec } from './runway-threshold';
import { RUNWAY_SCAN_MS } from './runway-warnings.ticker';

const under = serviceUnderTest(SettlementModule, { chain: true });

const lowOf = async (jobId: string) => (await eventsOf(under.infra, `trade.contract.${jobId}`)).filter((e): e is Extract<TradeEvent, { type: 'ContractRunwayLow' }> => e.type === 'ContractRunwayLow');

describe('the runway threshold', () => {
  it('is the larger of the minimum and the share of the expected runtime, in whole seconds', () => {
    const policy = { minSec: 900, runtimeBps: 1_000 };
    expect(runwayThresholdSec(60, policy)).toBe(900);
    expect(runwayThresholdSec(24 * 3600, policy)).toBe(8_640);
    expect(runwayThresholdSec(9_001, policy)).toBe(901);
    expect(runwayThresholdSec(0, { minSec: 1, runtimeBps: 0 })).toBe(1);
    // never more than half the job's own window: a 10-minute job is warned with 5 minutes left, not when it opens
    expect(runwayThresholdSec(60, policy, 600)).toBe(300);
    expect(runwayThresholdSec(24 * 3600, policy, 48 * 3600)).toBe(8_640);
    expect(runwayThresholdSec(60, policy, 1)).toBe(1);
  });
});

describe('the runway warning scan (issue 16)', () => {
  it('warns once when a contract\'s runway drops under its threshold, leaves one with runway to spare alone, and warns again before the deadline a top-up moved', async () => {
    // the example job's expected runtime is short and its window 10 minutes: the threshold is half that window (under the 15-min minimum)
    const threshold = runwayThresholdSec(EXAMPLE_EVENT_DATA.JobSubmitted.expectedRuntimeSec, { minSec: RUNWAY_WARNING_MIN_SEC_DEFAULT, runtimeBps: 1_000 }, EXAMPLE_EVENT_DATA.JobSubmitted.deadlineSec);
    expect(threshold).toBe(EXAMPLE_EVENT_DATA.JobSubmitted.deadlineSec / 2);
    const near = await openContract(under.infra, { jobId: 'job-rw1', deadlineInSec: 150 });
    const far = await openContract(under.infra, { jobId: 'job-rw2', deadlineInSec: 3600 });

    await eventually(async () => (await lowOf('job-rw1')).length > 0, 20_000);
    const [first] = await lowOf('job-rw1');
    expect(first!.actor).toBe('service:settlement');
    expect(first!.data).toMatchObject({ jobId: 'job-rw1', deadlineUnixSec: near.deadlineUnixSec, thresholdSec: threshold });
    expect(first!.data.runwaySec).toBeLessThan(threshold);
    expect(first!.data.runwaySec).toBe(near.deadlineUnixSec - first!.data.atUnixSec);

    // rounds later: still one warning for that deadline; none for the contract with runway to spare, whose due time is kept
    await new Promise((r) => setTimeout(r, 2 * RUNWAY_SCAN_MS + 500));
    expect(await lowOf('job-rw1')).toHaveLength(1);
    expect(await lowOf('job-rw2')).toHaveLength(0);
    const farRow = await under.service.rt.db.getRepository(ContractRow).findOneByOrFail({ jobId: 'job-rw2' });
    expect(farRow.runwayWarnAtUnixSec).toBe(String(far.deadlineUnixSec - threshold));
    expect(farRow.runwayWarnedUnixSec).toBeNull();

    // a top-up moves the deadline (and the escrow): the warning is armed again, for the new deadline (still under the threshold's reach)
    const newDeadline = near.deadlineUnixSec + 120;
    await appendDrafts(
      under.infra.log,
      'contract',
      'job-rw1',
      [
        draft('ContractToppedUp', {
          jobId: 'job-rw1',
          topUpId: 'tu-rw1',
          extraCostWei: 10n ** 17n,
          extraRuntimeSec: 120,
          newCostWei: near.escrowWei + 10n ** 17n,
          newDeadlineUnixSec: newDeadline,
          txHash: `0x${'ab'.repeat(32)}`,
          blockNumber: '1',
        }),
      ],
      { actor: 'service:deployer' },
    );
    await eventually(async () => (await lowOf('job-rw1')).length === 2, 20_000);
    expect((await lowOf('job-rw1'))[1]!.data).toMatchObject({ deadlineUnixSec: newDeadline });
    // the read model follows the log: the moved deadline and escrow, and the warning given for it
    const nearRow = () => under.service.rt.db.getRepository(ContractRow).findOneByOrFail({ jobId: 'job-rw1' });
    await eventually(async () => (await nearRow()).runwayWarnedUnixSec === String(newDeadline), 15_000);
    expect(await nearRow()).toMatchObject({ deadlineUnixSec: String(newDeadline), escrowWei: near.escrowWei + 10n ** 17n });
  }, 60_000);
});
