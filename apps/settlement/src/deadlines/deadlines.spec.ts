import { readComputeContract } from '@starminer/chain';
import { COMMANDS, type TradeEvent } from '@starminer/events';
import { eventually, serviceUnderTest } from '@starminer/service-testing';
import { SettlementModule } from '../settlement.module';
import { balanceOf, eventsOf, openContract, resultOf } from '../testing/settlement-fixture';
import { DEADLINE_SCAN_MS } from './deadline-scanner';

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
    expect(events[2].data).toEqual({ jobId: 'job-d1', requesterAddress: c.requester.address, amountWei: c.escrowWei, txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
    expect(await balanceOf(under.infra, c.requester.address)).toBe(c.escrowWei);
    expect((await readComputeContract(under.infra.chain!.clients.publicClient, { addresses: under.infra.chain!.addresses, jobId: 'job-d1' })).status).toBe('refunded');

    // a contract whose deadline is ahead is left alone, round after round
    await new Promise((r) => setTimeout(r, 2 * DEADLINE_SCAN_MS));
    expect(typesOf(await contractEvents('job-d2'))).toEqual(['ContractOpened']);
    expect(await balanceOf(under.infra, waiting.requester.address)).toBe(0n);
  }, 30_000);

  it('given a running contract past its deadline, then it is refunded as well, and a result after that is refused', async () => {
    const c = await openContract(under.infra, { jobId: 'job-d3', deadlineInSec: 2 });
    await under.service.bus.send(COMMANDS.settlement.startJob, { jobId: 'job-d3', nodeId: c.nodeId, nodeAddress: c.node.address });
    await eventually(async () => (await contractEvents('job-d3')).some((e) => e.type === 'ContractRefunded'), 20_000);
    expect(typesOf(await contractEvents('job-d3'))).toEqual(['ContractOpened', 'JobStarted', 'SettlementDecided', 'ContractRefunded']);
    expect(await balanceOf(under.infra, c.requester.address)).toBe(c.escrowWei);
    // the node's result comes too late: the contract is final, and nothing is appended
    const before = (await contractEvents('job-d3')).length;
    await expect(under.service.bus.send(COMMANDS.settlement.submitResult, await resultOf(under.infra, c))).rejects.toMatchObject({ code: 'RESULT_ALREADY_FINAL' });
    expect(await contractEvents('job-d3')).toHaveLength(before);
    expect(await balanceOf(under.infra, c.node.address)).toBe(0n);
  }, 30_000);
});
