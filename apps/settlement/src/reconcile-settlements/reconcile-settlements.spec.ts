import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { mintAgpu, openComputeContract, readComputeContract, readStake, stakeAgpu } from '@starminer/chain';
import { draft } from '@starminer/domain';
import { COMMANDS, EXAMPLE_EVENT_DATA, type TradeEvent } from '@starminer/events';
import { appendDrafts, devKey, eventually, ROLE_INDEX, serviceUnderTest } from '@starminer/service-testing';
import { SETTLE_GIVE_UP_MS } from '../deadlines/deadline-scanner';
import { REDRIVE_BACKOFF_MS_MAX } from '../deadlines/redrive-backoff';
import { ContractRow } from '../ledger/contract-row.entity';
import { LedgerEntry } from '../ledger/ledger-entry.entity';
import { SettlementModule } from '../settlement.module';
import { AGPU, balanceOf, eventsOf, openContract, resultOf, type OpenContract } from '../testing/settlement-fixture';
import { RECONCILE_SCAN_MS, ReconcileSettlements, SLASH_STALE_MS } from './reconcile-settlements';

const under = serviceUnderTest(SettlementModule, { chain: true });

const contractEvents = (jobId: string) => eventsOf(under.infra, `trade.contract.${jobId}`);
const ofType = <T extends TradeEvent['type']>(events: TradeEvent[], type: T) => events.filter((e): e is Extract<TradeEvent, { type: T }> => e.type === type);
const until = (jobId: string, type: TradeEvent['type'], timeoutMs = 30_000) => eventually(async () => (await contractEvents(jobId)).some((e) => e.type === type), timeoutMs);
const row = (jobId: string) => under.service.rt.db.getRepository(ContractRow).findOneByOrFail({ jobId });
const onChain = (jobId: string) => readComputeContract(under.infra.chain!.clients.publicClient, { addresses: under.infra.chain!.addresses, jobId });

/** Anvil's own JSON-RPC: snapshots and reverts of the whole chain (a chain restored from an older state). */
async function anvil(method: 'evm_snapshot' | 'evm_revert', params: unknown[] = []): Promise<unknown> {
  const res = await fetch(under.infra.chain!.anvil.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/** The contract opened again on chain on its recorded terms, as the deployer's reconciler does. */
async function openAgain(c: OpenContract): Promise<void> {
  const chain = under.infra.chain!;
  await mintAgpu(chain.clients.wallet(chain.roles.minter), chain.clients.publicClient, { token: chain.addresses.token, to: c.requester.address, amountWei: c.escrowWei });
  const deployer = chain.clients.wallet(privateKeyToAccount(devKey(ROLE_INDEX.deployer)));
  await openComputeContract(deployer, chain.clients.publicClient, {
    addresses: chain.addresses,
    jobId: c.jobId,
    requester: c.requester,
    provider: c.node.address,
    costWei: c.escrowWei,
    expectedRuntimeSec: 60,
    deadlineSec: c.deadlineUnixSec,
    termsHash: c.opened.termsHash as `0x${string}`,
  });
}

describe('reconciling settlements with the chain', () => {
  it('given a chain rolled back under a settled job (a release and a refund), then the reconciler carries both out again: the chain shows them, ChainEffectRestored names the new transactions, the read model shows them, and the provider is paid once', async () => {
    const paid = await openContract(under.infra, { jobId: 'job-r1' });
    const refunded = await openContract(under.infra, { jobId: 'job-r2' });
    const snapshot = await anvil('evm_snapshot');

    await under.service.bus.send(COMMANDS.settlement.submitResult, await resultOf(under.infra, paid));
    await under.service.bus.send(COMMANDS.settlement.submitResult, await resultOf(under.infra, refunded, { output: 'wrong' }));
    await until('job-r1', 'ContractReleased');
    await until('job-r2', 'ContractRefunded');
    const released = ofType(await contractEvents('job-r1'), 'ContractReleased')[0];
    const refundedEvent = ofType(await contractEvents('job-r2'), 'ContractRefunded')[0];
    // recorded at the configured depth, with its block
    expect(released.data.blockNumber).toMatch(/^[0-9]+$/);
    expect(await balanceOf(under.infra, paid.node.address)).toBe(paid.escrowWei);

    // the chain is restored from before both settlements
    expect(await anvil('evm_revert', [snapshot])).toBe(true);
    expect((await onChain('job-r1')).status).toBe('open');
    expect((await onChain('job-r2')).status).toBe('open');
    expect(await balanceOf(under.infra, paid.node.address)).toBe(0n);

    await until('job-r1', 'ChainEffectRestored');
    await until('job-r2', 'ChainEffectRestored');
    const [restoredRelease] = ofType(await contractEvents('job-r1'), 'ChainEffectRestored');
    const [restoredRefund] = ofType(await contractEvents('job-r2'), 'ChainEffectRestored');
    expect(restoredRelease.data).toEqual({ jobId: 'job-r1', action: 'release', previousTxHash: released.data.txHash, txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/), blockNumber: expect.stringMatching(/^[0-9]+$/) });
    expect(restoredRefund.data).toMatchObject({ jobId: 'job-r2', action: 'refund', previousTxHash: refundedEvent.data.txHash });
    expect(restoredRelease.data.txHash).not.toBe(released.data.txHash);
    expect(restoredRelease.actor).toBe('service:settlement');

    // the final chain holds both, once: the provider paid once, the requester refunded once
    expect((await onChain('job-r1')).status).toBe('released');
    expect((await onChain('job-r2')).status).toBe('refunded');
    expect(await balanceOf(under.infra, paid.node.address)).toBe(paid.escrowWei);
    expect(await balanceOf(under.infra, refunded.requester.address)).toBe(refunded.escrowWei);
    const receipt = await under.infra.chain!.clients.publicClient.getTransactionReceipt({ hash: restoredRelease.data.txHash as `0x${string}` });
    expect(receipt.status).toBe('success');

    // the read model and the ledger name the transaction the chain holds
    await eventually(async () => (await row('job-r1')).settleTxHash === restoredRelease.data.txHash);
    expect(await row('job-r1')).toMatchObject({ status: 'released', settleTxHash: restoredRelease.data.txHash, settleBlockNumber: restoredRelease.data.blockNumber });
    await eventually(async () => (await row('job-r2')).settleTxHash === restoredRefund.data.txHash);
    const ledger = await under.service.rt.db.getRepository(LedgerEntry).findBy({ jobId: 'job-r1', kind: 'released' });
    expect(ledger.map((e) => e.txHash)).toEqual([restoredRelease.data.txHash]);

    // more rounds find nothing to do: nothing restored twice, nothing paid twice
    const reconciler = under.service.app.get(ReconcileSettlements);
    await reconciler.checkOne(await row('job-r1'));
    await new Promise((r) => setTimeout(r, 2 * RECONCILE_SCAN_MS));
    expect(ofType(await contractEvents('job-r1'), 'ChainEffectRestored')).toHaveLength(1);
    expect(ofType(await contractEvents('job-r2'), 'ChainEffectRestored')).toHaveLength(1);
    expect(await balanceOf(under.infra, paid.node.address)).toBe(paid.escrowWei);
  }, 60_000);

  it('given a settled job whose open the chain lost too, then it waits with a bounded backoff (not every round) until the open is restored, then releases again', async () => {
    const snapshot = await anvil('evm_snapshot');
    const c = await openContract(under.infra, { jobId: 'job-r3' });
    await under.service.bus.send(COMMANDS.settlement.submitResult, await resultOf(under.infra, c));
    await until('job-r3', 'ContractReleased');

    expect(await anvil('evm_revert', [snapshot])).toBe(true);
    expect((await onChain('job-r3')).status).toBe('none');
    // found missing, retried on its own backoff: a few tries over several rounds, never waiting past the cap
    await eventually(async () => (await row('job-r3')).retryAttempts >= 1, 20_000);
    await new Promise((r) => setTimeout(r, 3 * RECONCILE_SCAN_MS));
    const waiting = await row('job-r3');
    expect(waiting.retryAttempts).toBeLessThanOrEqual(2);
    expect(waiting.retryAt!.getTime() - Date.now()).toBeLessThanOrEqual(REDRIVE_BACKOFF_MS_MAX);
    expect(waiting.pendingSince).toBeInstanceOf(Date);
    expect(ofType(await contractEvents('job-r3'), 'ChainEffectLost')).toEqual([]);

    // the deployer's reconciler opens it again: the next try releases it
    await openAgain(c);
    await until('job-r3', 'ChainEffectRestored', 40_000);
    expect((await onChain('job-r3')).status).toBe('released');
    expect(await balanceOf(under.infra, c.node.address)).toBe(c.escrowWei);
    await eventually(async () => (await row('job-r3')).retryAt === null);
  }, 90_000);

  it('given a settled job whose open the chain lost and nobody restores, then past its bound ChainEffectLost is recorded, the read model shows it lost, and the ledger undoes the movement', async () => {
    const snapshot = await anvil('evm_snapshot');
    const c = await openContract(under.infra, { jobId: 'job-r4' });
    await under.service.bus.send(COMMANDS.settlement.submitResult, await resultOf(under.infra, c));
    await until('job-r4', 'ContractReleased');
    const released = ofType(await contractEvents('job-r4'), 'ContractReleased')[0];
    expect(await anvil('evm_revert', [snapshot])).toBe(true);
    await eventually(async () => (await row('job-r4')).pendingSince !== null, 20_000);

    // the bound passes (the round is run as at that time)
    const reconciler = under.service.app.get(ReconcileSettlements);
    const r = await row('job-r4');
    await reconciler.checkOne(r, r.pendingSince!.getTime() + SETTLE_GIVE_UP_MS + 1);
    const lost = ofType(await contractEvents('job-r4'), 'ChainEffectLost');
    expect(lost.map((e) => e.data)).toEqual([{ jobId: 'job-r4', action: 'release', previousTxHash: released.data.txHash, code: 'OPEN_LOST', reason: expect.stringContaining('open') }]);
    await eventually(async () => (await row('job-r4')).status === 'settle-lost');
    expect(await row('job-r4')).toMatchObject({ settleTxHash: null, retryAt: null });
    const ledger = await under.service.rt.db.getRepository(LedgerEntry).find({ where: { jobId: 'job-r4' }, order: { seq: 'ASC' } });
    expect(ledger.map((e) => [e.kind, e.amountWei])).toEqual([
      ['escrow-locked', c.escrowWei],
      ['released', c.escrowWei],
      ['settle-lost', c.escrowWei],
    ]);
    // given up once: later rounds leave it alone
    await new Promise((r) => setTimeout(r, 2 * RECONCILE_SCAN_MS));
    expect(ofType(await contractEvents('job-r4'), 'ChainEffectLost')).toHaveLength(1);
  }, 60_000);

  it('given a rejected result refunded and slashed, and the chain rolled back under both, then the refund is restored and the slash re-driven: the requester gets the slash once on the final chain, and the pool log holds one StakeSlashed', async () => {
    const chain = under.infra.chain!;
    const node = privateKeyToAccount(generatePrivateKey());
    const stakeWei = 10n * AGPU;
    await mintAgpu(chain.clients.wallet(chain.roles.minter), chain.clients.publicClient, { token: chain.addresses.token, to: node.address, amountWei: stakeWei });
    await stakeAgpu(chain.clients.wallet(chain.roles.minter), chain.clients.publicClient, { addresses: chain.addresses, poolId: 'pool-r', staker: node, amountWei: stakeWei });
    await appendDrafts(under.infra.log, 'node', 'node-r5', [draft('NodeRegistered', { ...EXAMPLE_EVENT_DATA.NodeRegistered, nodeId: 'node-r5', nodeAddress: node.address, poolId: 'pool-r' })]);
    const c = await openContract(under.infra, { jobId: 'job-r5', nodeId: 'node-r5', node, matched: true });
    const stakeOf = async () => (await readStake(chain.clients.publicClient, { addresses: chain.addresses, poolId: 'pool-r', staker: node.address })).activeWei;
    const snapshot = await anvil('evm_snapshot');

    await under.service.bus.send(COMMANDS.settlement.submitResult, await resultOf(under.infra, c, { output: 'cheated' }));
    await until('job-r5', 'ContractRefunded');
    await eventually(async () => (await eventsOf(under.infra, 'trade.pool.pool-r')).length > 0, 20_000);
    expect(await stakeOf()).toBe(stakeWei - c.escrowWei);

    expect(await anvil('evm_revert', [snapshot])).toBe(true);
    expect(await stakeOf()).toBe(stakeWei);
    expect(await balanceOf(under.infra, c.requester.address)).toBe(0n);
    await until('job-r5', 'ChainEffectRestored');
    await eventually(async () => (await row('job-r5')).slashDone === false && (await row('job-r5')).settleTxHash !== null);

    // the slash is looked at again once its refund is older than SLASH_STALE_MS (the round run as at that time)
    await under.service.app.get(ReconcileSettlements).round(Date.now() + SLASH_STALE_MS + 1);
    expect(await stakeOf()).toBe(stakeWei - c.escrowWei);
    expect(await balanceOf(under.infra, c.requester.address)).toBe(2n * c.escrowWei);
    expect(await eventsOf(under.infra, 'trade.pool.pool-r')).toHaveLength(1);
    expect((await row('job-r5')).slashDone).toBe(true);
    // again: nothing more is slashed
    await under.service.app.get(ReconcileSettlements).round(Date.now() + SLASH_STALE_MS + 1);
    expect(await stakeOf()).toBe(stakeWei - c.escrowWei);
  }, 60_000);
});
