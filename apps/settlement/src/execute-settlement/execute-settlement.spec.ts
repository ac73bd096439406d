import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { disputeComputeContract, mintAgpu, readStake, refundComputeContract, stakeAgpu } from '@starminer/chain';
import { draft } from '@starminer/domain';
import { COMMANDS, EXAMPLE_EVENT_DATA, type TradeEvent } from '@starminer/events';
import { appendDrafts, devKey, eventually, getJson, ROLE_INDEX, serviceUnderTest } from '@starminer/service-testing';
import { SettlementModule } from '../settlement.module';
import { AGPU, balanceOf, contractOnLog, eventsOf, openContract, resultOf } from '../testing/settlement-fixture';
import { SETTLEMENT_EXECUTOR, SettlementExecutor } from './settlement-executor';

const under = serviceUnderTest(SettlementModule, { chain: true });

const typesOf = (events: TradeEvent[]) => events.map((e) => e.type);
const contractEvents = (jobId: string) => eventsOf(under.infra, `trade.contract.${jobId}`);
const until = (jobId: string, type: TradeEvent['type']) => eventually(async () => (await contractEvents(jobId)).some((e) => e.type === type), 20_000);

describe('the under.service executor', () => {
  it('given a release decided with no ResultSubmitted on the log, then it is parked at once (it can never be executed), readiness stays green, and other settlements go on', async () => {
    await contractOnLog(under.infra, 'job-x1', `0x${'7f'.repeat(20)}`);
    await appendDrafts(under.infra.log, 'contract', 'job-x1', [draft('SettlementDecided', { jobId: 'job-x1', outcome: 'release', reason: 'result and proof verified' })]);

    await eventually(async () => (await under.service.bus.send(COMMANDS.settlement.listParked, {})).parked.some((p) => p.key === 'job-x1'));
    const parked = (await under.service.bus.send(COMMANDS.settlement.listParked, {})).parked.filter((p) => p.key === 'job-x1');
    expect(parked).toEqual([expect.objectContaining({ reader: SETTLEMENT_EXECUTOR, type: 'SettlementDecided', attempts: 1, blockedBy: null })]);
    expect(parked[0].error).toMatch(/^non-retryable: .*no ResultSubmitted/);
    expect(typesOf(await contractEvents('job-x1'))).toEqual(['ContractOpened', 'SettlementDecided']);
    // the executor is not critical: the ledger is right, and the deadline scan re-drives what is stale
    const ready = await getJson(`${under.service.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body.info.readers[SETTLEMENT_EXECUTOR]).toMatchObject({ parked: 1, critical: false });

    // another job settles as usual
    const c = await openContract(under.infra, { jobId: 'job-x2' });
    await under.service.bus.send(COMMANDS.settlement.submitResult, await resultOf(under.infra, c));
    await until('job-x2', 'ContractReleased');
    expect(await balanceOf(under.infra, c.node.address)).toBe(c.escrowWei);
  }, 30_000);

  it('given the chain refunded the contract before a decided release reached it, then the log records the refund the chain shows, and the node is not paid', async () => {
    const c = await openContract(under.infra, { jobId: 'job-x3' });
    // the chain moves first (a refund from the under.service role, as after a dispute)
    const { publicClient } = under.infra.chain!.clients;
    const settlementRole = under.infra.chain!.clients.wallet(privateKeyToAccount(devKey(ROLE_INDEX.settlement)));
    await disputeComputeContract(settlementRole, publicClient, { addresses: under.infra.chain!.addresses, jobId: 'job-x3', reasonHash: `0x${'00'.repeat(31)}01` });
    await refundComputeContract(settlementRole, publicClient, { addresses: under.infra.chain!.addresses, jobId: 'job-x3' });

    await expect(under.service.bus.send(COMMANDS.settlement.submitResult, await resultOf(under.infra, c))).resolves.toMatchObject({ outcome: 'release' });
    await until('job-x3', 'ContractRefunded');
    const events = await contractEvents('job-x3');
    expect(typesOf(events)).toEqual(['ContractOpened', 'ResultSubmitted', 'SettlementDecided', 'ContractRefunded']);
    expect(events[3].data).toEqual({ jobId: 'job-x3', requesterAddress: c.requester.address, amountWei: c.escrowWei, txHash: null });
    expect(await balanceOf(under.infra, c.node.address)).toBe(0n);
    expect(await balanceOf(under.infra, c.requester.address)).toBe(c.escrowWei);
  }, 30_000);

  it("given a rejected result of a staked node, then after the refund its stake pays the requester up to the escrow, once, and StakeSlashed is on the pool's log", async () => {
    const chain = under.infra.chain!;
    const node = privateKeyToAccount(generatePrivateKey());
    const stakeWei = 10n * AGPU;
    await mintAgpu(chain.clients.wallet(chain.roles.minter), chain.clients.publicClient, { token: chain.addresses.token, to: node.address, amountWei: stakeWei });
    await stakeAgpu(chain.clients.wallet(chain.roles.minter), chain.clients.publicClient, { addresses: chain.addresses, poolId: 'pool-x', staker: node, amountWei: stakeWei });
    await appendDrafts(under.infra.log, 'node', 'node-x4', [draft('NodeRegistered', { ...EXAMPLE_EVENT_DATA.NodeRegistered, nodeId: 'node-x4', nodeAddress: node.address, poolId: 'pool-x' })]);
    const c = await openContract(under.infra, { jobId: 'job-x4', nodeId: 'node-x4', node, matched: true });

    await under.service.bus.send(COMMANDS.settlement.submitResult, await resultOf(under.infra, c, { output: 'cheated' }));
    await until('job-x4', 'ContractRefunded');
    await eventually(async () => (await eventsOf(under.infra, 'trade.pool.pool-x')).length > 0, 20_000);
    const pool = await eventsOf(under.infra, 'trade.pool.pool-x');
    expect(pool).toHaveLength(1);
    const refunded = (await contractEvents('job-x4')).find((e) => e.type === 'ContractRefunded')!;
    expect(pool[0]).toMatchObject({ type: 'StakeSlashed', actor: 'service:settlement', causationId: refunded.id, correlationId: 'job-x4' });
    expect(pool[0].data).toEqual({
      poolId: 'pool-x',
      nodeId: 'node-x4',
      nodeAddress: node.address,
      jobId: 'job-x4',
      amountWei: c.escrowWei,
      recipient: c.requester.address,
      txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/),
    });
    const stakeAfter = (await readStake(chain.clients.publicClient, { addresses: chain.addresses, poolId: 'pool-x', staker: node.address })).activeWei;
    expect(stakeAfter).toBe(stakeWei - c.escrowWei);
    expect(await balanceOf(under.infra, c.requester.address)).toBe(2n * c.escrowWei);

    // the refund delivered again (at least once): nothing more is slashed or recorded
    await under.service.app.get(SettlementExecutor).handle([{ seq: 0, subject: 'trade.contract.job-x4', event: refunded, redelivered: true }]);
    expect(await eventsOf(under.infra, 'trade.pool.pool-x')).toHaveLength(1);
    expect((await readStake(chain.clients.publicClient, { addresses: chain.addresses, poolId: 'pool-x', staker: node.address })).activeWei).toBe(stakeAfter);
  }, 30_000);

  it('given a refund after a missed deadline (no rejected result), then nothing is slashed', async () => {
    const chain = under.infra.chain!;
    const node = privateKeyToAccount(generatePrivateKey());
    await mintAgpu(chain.clients.wallet(chain.roles.minter), chain.clients.publicClient, { token: chain.addresses.token, to: node.address, amountWei: AGPU });
    await stakeAgpu(chain.clients.wallet(chain.roles.minter), chain.clients.publicClient, { addresses: chain.addresses, poolId: 'pool-y', staker: node, amountWei: AGPU });
    await appendDrafts(under.infra.log, 'node', 'node-x5', [draft('NodeRegistered', { ...EXAMPLE_EVENT_DATA.NodeRegistered, nodeId: 'node-x5', nodeAddress: node.address, poolId: 'pool-y' })]);
    const c = await openContract(under.infra, { jobId: 'job-x5', nodeId: 'node-x5', node, matched: true, deadlineInSec: 2 });
    await until('job-x5', 'ContractRefunded');
    // give a slash (wrongly) the time it would take
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await eventsOf(under.infra, 'trade.pool.pool-y')).toEqual([]);
    expect((await readStake(chain.clients.publicClient, { addresses: chain.addresses, poolId: 'pool-y', staker: node.address })).activeWei).toBe(AGPU);
    expect(await balanceOf(under.infra, c.requester.address)).toBe(c.escrowWei);
  }, 30_000);
});
