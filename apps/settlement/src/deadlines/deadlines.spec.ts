import { readComputeContract } from '@starminer/chain';
import { draft } from '@starminer/domain';
import { COMMANDS, type TradeEvent } from '@starminer/events';
import { appendDrafts, countEvents, eventually, publishRaw, rawEvent, serviceUnderTest } from '@starminer/service-testing';
import { ContractRow } from '../ledger/contract-row.entity';
import { SettlementModule } from '../settlement.module';
import { balanceOf, contractOnLog, eventsOf, openContract, resultOf } from '../testing/settlement-fixture';
import { DEADLINE_SCAN_MS, DeadlineScanner, SETTLE_GIVE_UP_MS } from './deadline-scanner';
import { REDRIVE_BACKOFF_MS_MAX, REDRIVE_BACKOFF_MS_MIN, redriveDelayMs } from './redrive-backoff';

const under = serviceUnderTest(SettlementModule, { chain: true });

const contractEvents = (jobId: string) => eventsOf(under.infra, `trade.contract.${jobId}`);
const typesOf = (events: TradeEvent[]) => events.map((e) => e.type);

describe('the deadline scan', () => {
  it('given an open contract past its deadline without a result, then a refund is decided and the escrow goes back to the requester on chain', async () => {
    const c = await openContract(under.infra, { jobId: 'job-d1', deadlineInSec: 2 });
    const waiting = await openContract(under.infra, { jobId: 'job-d2', deadlineInSec: 3600 });
    expect(await balanceOf(under.infra, c.requester.address)).toBe(0n);

    await eventually(async () => (await contractEvents('job-d1')).some((e) => e.type === 'ContractRefunded'), 20_000);
    const events = await contractEvents('job-d1');
    expect(typesOf(events)).toEqual(['ContractOpened', 'SettlementDecided', 'ContractRefunded']);
    expect(events[1].data).toEqual({ jobId: 'job-d1', outcome: 'refund', reason: `deadline ${c.deadlineUnixSec} passed without a result` });
    expect(events[1].actor).toBe('service:settlement');
    expect(Date.parse(events[1].occurredAt) / 1000).toBeGreaterThan(c.deadlineUnixSec);
    expect(events[2].data).toEqual({
      jobId: 'job-d1',
      requesterAddress: c.requester.address,
      amountWei: c.escrowWei,
      txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/),
      blockNumber: expect.stringMatching(/^[0-9]+$/),
    });
    expect(await balanceOf(under.infra, c.requester.address)).toBe(c.escrowWei);
    expect((await readComputeContract(under.infra.chain!.clients.publicClient, { addresses: under.infra.chain!.addresses, jobId: 'job-d1' })).status).toBe('refunded');

    // a contract whose deadline is ahead is left alone, round after round
    await new Promise((r) => setTimeout(r, 2 * DEADLINE_SCAN_MS));
    expect(typesOf(await contractEvents('job-d2')).filter((t) => t !== 'ContractRunwayLow')).toEqual(['ContractOpened']);
    expect(await balanceOf(under.infra, waiting.requester.address)).toBe(0n);
  }, 30_000);

  it('given a running contract past its deadline, then it is refunded as well, and a result after that is refused', async () => {
    const c = await openContract(under.infra, { jobId: 'job-d3', deadlineInSec: 2 });
    await under.service.bus.send(COMMANDS.settlement.startJob, { jobId: 'job-d3', nodeId: c.nodeId, nodeAddress: c.node.address });
    await eventually(async () => (await contractEvents('job-d3')).some((e) => e.type === 'ContractRefunded'), 20_000);
    // the runway scan may warn before the deadline (ContractRunwayLow) or not, by when its round falls: not what this spec is about
    expect(typesOf(await contractEvents('job-d3')).filter((t) => t !== 'ContractRunwayLow')).toEqual(['ContractOpened', 'JobStarted', 'SettlementDecided', 'ContractRefunded']);
    expect(await balanceOf(under.infra, c.requester.address)).toBe(c.escrowWei);
    // the node's result comes too late: the contract is final, and nothing is appended
    const before = (await contractEvents('job-d3')).length;
    await expect(under.service.bus.send(COMMANDS.settlement.submitResult, await resultOf(under.infra, c))).rejects.toMatchObject({ code: 'RESULT_ALREADY_FINAL' });
    expect(await contractEvents('job-d3')).toHaveLength(before);
    expect(await balanceOf(under.infra, c.node.address)).toBe(0n);
  }, 30_000);

  it('given a settlement whose open the chain lost, then the executor leaves it to the scan, which re-drives it on its own bounded backoff (not every round) and gives it up past its bound', async () => {
    // on the log only: the chain has no contract for the job (its open was lost)
    await contractOnLog(under.infra, 'job-d4', `0x${'4d'.repeat(20)}`);
    const decidedAt = new Date(Date.now() - 60_000);
    await appendDrafts(under.infra.log, 'contract', 'job-d4', [draft('SettlementDecided', { jobId: 'job-d4', outcome: 'refund', reason: 'deadline passed without a result' })], { occurredAt: decidedAt, actor: 'service:settlement' });

    const row = () => under.service.rt.db.getRepository(ContractRow).findOneByOrFail({ jobId: 'job-d4' });
    const tried = () => under.service.rt.db.getRepository(ContractRow).findOneBy({ jobId: 'job-d4' });
    await eventually(async () => ((await tried())?.retryAttempts ?? 0) >= 1, 20_000);
    // several rounds later: one or two tries, not one a round; the next never further than the cap
    await new Promise((r) => setTimeout(r, 4 * DEADLINE_SCAN_MS));
    const waiting = await row();
    expect(waiting).toMatchObject({ status: 'settling', retryAttempts: expect.any(Number), pendingSince: expect.any(Date) });
    expect(waiting.retryAttempts).toBeLessThanOrEqual(2);
    expect(waiting.retryAt!.getTime() - Date.now()).toBeLessThanOrEqual(REDRIVE_BACKOFF_MS_MAX);
    expect(typesOf(await contractEvents('job-d4')).filter((t) => t !== 'ContractRunwayLow')).toEqual(['ContractOpened', 'SettlementDecided']);

    // its bound passes (the scan is run as at that time): the settlement is given up, once, and the contract ends
    const later = waiting.pendingSince!.getTime() + SETTLE_GIVE_UP_MS + REDRIVE_BACKOFF_MS_MAX;
    await under.service.app.get(DeadlineScanner).scan(later);
    await under.service.app.get(DeadlineScanner).scan(later + REDRIVE_BACKOFF_MS_MAX);
    const events = await contractEvents('job-d4');
    expect(typesOf(events)).toEqual(['ContractOpened', 'SettlementDecided', 'ChainEffectLost']);
    expect(events[2].data).toEqual({ jobId: 'job-d4', action: 'refund', previousTxHash: null, code: 'OPEN_LOST', reason: expect.stringContaining('re-driven for') });
    await eventually(async () => (await row()).status === 'settle-lost');
  }, 40_000);

  it('the re-drive backoff doubles per failed try and is bounded', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 50, 1_000_000].map(redriveDelayMs);
    expect(delays[0]).toBe(REDRIVE_BACKOFF_MS_MIN);
    expect(delays[1]).toBe(2 * REDRIVE_BACKOFF_MS_MIN);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]);
    expect(Math.max(...delays)).toBe(REDRIVE_BACKOFF_MS_MAX);
  });

  it('given a contract past its deadline whose log cannot be read, then the scan logs it and still expires the others, round after round', async () => {
    const pastSec = Math.floor(Date.now() / 1000) - 60;
    await contractOnLog(under.infra, 'job-d5', `0x${'5d'.repeat(20)}`, { deadlineUnixSec: pastSec - 10 });
    // an older writer left an event the catalogue refuses on its subject: every read of the aggregate fails
    await publishRaw(under.infra.log, 'trade.contract.job-d5', rawEvent('JobStarted', 'job-d5', { jobId: 'job-d5', nodeId: 7 }));
    await contractOnLog(under.infra, 'job-d6', `0x${'6d'.repeat(20)}`, { deadlineUnixSec: pastSec });

    await eventually(async () => (await contractEvents('job-d6')).some((e) => e.type === 'SettlementDecided'), 20_000);
    // the next round goes on as well
    await contractOnLog(under.infra, 'job-d7', `0x${'7d'.repeat(20)}`, { deadlineUnixSec: pastSec });
    await eventually(async () => (await contractEvents('job-d7')).some((e) => e.type === 'SettlementDecided'), 20_000);
    // the failing one waits its own backoff instead of coming first every round
    const d5Row = await under.service.rt.db.getRepository(ContractRow).findOneByOrFail({ jobId: 'job-d5' });
    expect(d5Row.retryAttempts).toBeGreaterThanOrEqual(1);
    expect(d5Row.retryAt!.getTime()).toBeGreaterThan(Date.now() - DEADLINE_SCAN_MS);
    // nothing was appended to the unreadable one (its opened and the bad event only), and it still cannot be read
    expect(await countEvents(under.infra.log, 'trade.contract.job-d5')).toBe(2);
    await expect(under.infra.log.readSubject('trade.contract.job-d5')).rejects.toThrow(/could not be decoded/);
  }, 40_000);
});
