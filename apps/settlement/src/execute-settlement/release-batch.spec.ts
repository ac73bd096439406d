import { decodeFunctionData, parseEventLogs, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { artifacts, createChainClients, releaseComputeContract } from '@starminer/chain';
import { COMMANDS, type TradeEvent } from '@starminer/events';
import { devKey, ROLE_INDEX, serviceUnderTest } from '@starminer/service-testing';
import type { StoredEvent } from '@starminer/trade-log';
import { SettlementChain } from '../settlement-chain';
import { SettlementModule } from '../settlement.module';
import { balanceOf, openContract, resultOf, type OpenContract } from '../testing/settlement-fixture';
import { ExecuteSettlement } from './execute-settlement';
import { SETTLEMENT_EXECUTOR, SettlementExecutor } from './settlement-executor';
import { Slashing } from './slashing';

const under = serviceUnderTest(SettlementModule, { chain: true });

/**
 * The executor's consumer is stopped here, so that each test hands the executor one consumer batch
 * of its own making (the contract events as the consumer would deliver them, read from the log)
 * and nothing else reaches the chain meanwhile; the chain, the log and the ledger are real.
 */
beforeAll(async () => {
  const reader = under.service.rt.readers.find((r) => r.name === SETTLEMENT_EXECUTOR) as { stop(): Promise<void> } | undefined;
  if (!reader) throw new Error(`no ${SETTLEMENT_EXECUTOR} reader`);
  await reader.stop();
});

const storedOf = async (jobId: string): Promise<StoredEvent[]> => (await under.infra.log.readSubject(`trade.contract.${jobId}`)).events;
const eventsOf = async (jobId: string): Promise<TradeEvent[]> => (await storedOf(jobId)).map((s) => s.event as TradeEvent);
/** The settlement role's transactions so far (its nonce). */
const settlementTxs = () => under.infra.chain!.clients.publicClient.getTransactionCount({ address: under.infra.chain!.roles.settlement.address });

/** Opens the contracts and submits their results (correct, or `cheated`), as provider agents do: each ends SettlementDecided. */
async function decided(jobIds: readonly string[], cheated: readonly string[] = []): Promise<OpenContract[]> {
  const out: OpenContract[] = [];
  for (const jobId of jobIds) {
    const c = await openContract(under.infra, { jobId });
    const outcome = cheated.includes(jobId) ? 'refund' : 'release';
    await expect(under.service.bus.send(COMMANDS.settlement.submitResult, await resultOf(under.infra, c, cheated.includes(jobId) ? { output: 'cheated' } : {}))).resolves.toMatchObject({ outcome });
    out.push(c);
  }
  return out;
}

/** One consumer batch: every contract event of the jobs, in log order. */
async function batchOf(jobIds: readonly string[]): Promise<StoredEvent[]> {
  return (await Promise.all(jobIds.map(storedOf))).flat().sort((a, b) => a.seq - b.seq);
}

const recorded = async (jobId: string) => (await eventsOf(jobId)).filter((e): e is Extract<TradeEvent, { type: 'ContractReleased' | 'ContractRefunded' }> => e.type === 'ContractReleased' || e.type === 'ContractRefunded');

describe('batched releases (issue 13)', () => {
  it('given several decided releases in one consumer batch, then they are released in ONE transaction and each recorded once with it; the batch delivered again sends and records nothing', async () => {
    const jobIds = ['job-rb1', 'job-rb2', 'job-rb3', 'job-rb4'];
    const contracts = await decided(jobIds);
    const batch = await batchOf(jobIds);
    expect(batch.filter((s) => s.event.type === 'SettlementDecided')).toHaveLength(4);
    const txsBefore = await settlementTxs();

    await under.service.app.get(SettlementExecutor).handle(batch);

    expect(await settlementTxs()).toBe(txsBefore + 1);
    const records = await Promise.all(jobIds.map(recorded));
    for (const [i, r] of records.entries()) {
      expect(r).toEqual([expect.objectContaining({ type: 'ContractReleased', causationId: batch.find((s) => s.event.type === 'SettlementDecided' && s.event.aggregateId === jobIds[i])!.event.id })]);
      expect(r[0]!.data).toEqual({ jobId: jobIds[i], nodeAddress: contracts[i]!.node.address, amountWei: contracts[i]!.escrowWei, txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/), blockNumber: expect.stringMatching(/^[0-9]+$/) });
    }
    const txHash = records[0]![0]!.data.txHash as Hex;
    expect(new Set(records.map((r) => r[0]!.data.txHash))).toEqual(new Set([txHash]));
    const receipt = await under.infra.chain!.clients.publicClient.getTransactionReceipt({ hash: txHash });
    expect(String(receipt.blockNumber)).toBe(records[0]![0]!.data.blockNumber);
    expect(parseEventLogs({ abi: artifacts().ComputeEscrow.abi, logs: receipt.logs, eventName: 'ComputeContractReleased' })).toHaveLength(4);
    for (const c of contracts) expect(await balanceOf(under.infra, c.node.address)).toBe(c.escrowWei);

    // at least once: the same batch again finds every job recorded
    await under.service.app.get(SettlementExecutor).handle(batch.map((s) => ({ ...s, redelivered: true })));
    expect(await settlementTxs()).toBe(txsBefore + 1);
    for (const jobId of jobIds) expect(await recorded(jobId)).toHaveLength(1);
    for (const c of contracts) expect(await balanceOf(under.infra, c.node.address)).toBe(c.escrowWei);
  }, 60_000);

  it('given one job of the batch already released on chain, then it is recorded as the chain shows it (no transaction hash, as the per-job path records it), the others settle in one transaction, and a refund in the same batch goes its own way', async () => {
    const jobIds = ['job-rb5', 'job-rb6', 'job-rb7', 'job-rb8'];
    const [, early, , cheated] = await decided(jobIds, ['job-rb8']);
    // the chain moves first for job-rb6 (a release sent before a crash, say)
    const submitted = (await eventsOf('job-rb6')).find((e): e is Extract<TradeEvent, { type: 'ResultSubmitted' }> => e.type === 'ResultSubmitted')!;
    const { publicClient } = under.infra.chain!.clients;
    const settlementRole = under.infra.chain!.clients.wallet(privateKeyToAccount(devKey(ROLE_INDEX.settlement)));
    await releaseComputeContract(settlementRole, publicClient, {
      addresses: under.infra.chain!.addresses,
      jobId: 'job-rb6',
      resultHash: submitted.data.resultHash as Hex,
      proofHash: submitted.data.proofHash as Hex,
      providerSignature: submitted.data.signature as Hex,
    });
    const batch = await batchOf(jobIds);

    await under.service.app.get(SettlementExecutor).handle(batch);

    const [r5, r6, r7, r8] = await Promise.all(jobIds.map(recorded));
    expect(r5!.map((e) => e.type)).toEqual(['ContractReleased']);
    expect(r7!.map((e) => e.type)).toEqual(['ContractReleased']);
    expect(r5![0]!.data.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(r7![0]!.data.txHash).toBe(r5![0]!.data.txHash);
    // skipped by the batch (AlreadyReleased), then the per-job path: recorded as the chain shows it
    expect(r6).toEqual([expect.objectContaining({ type: 'ContractReleased', data: { jobId: 'job-rb6', nodeAddress: early!.node.address, amountWei: early!.escrowWei, txHash: null, blockNumber: null } })]);
    expect(await balanceOf(under.infra, early!.node.address)).toBe(early!.escrowWei);
    // the batched transaction skipped it with its reason, and paid the two others
    const receipt = await publicClient.getTransactionReceipt({ hash: r5![0]!.data.txHash as Hex });
    const abi = artifacts().ComputeEscrow.abi;
    expect(parseEventLogs({ abi, logs: receipt.logs, eventName: 'ComputeContractReleased' })).toHaveLength(2);
    expect(parseEventLogs({ abi, logs: receipt.logs, eventName: 'ComputeContractReleaseSkipped' }).map((l) => l.args.reason)).toEqual([2]); // AlreadyReleased
    // the rejected result's refund: per job, as before
    expect(r8!.map((e) => e.type)).toEqual(['ContractRefunded']);
    expect(r8![0]!.data.amountWei).toBe(cheated!.escrowWei);
    expect(await balanceOf(under.infra, cheated!.requester.address)).toBe(cheated!.escrowWei);
    expect(await balanceOf(under.infra, cheated!.node.address)).toBe(0n);
  }, 60_000);

  it('given a decided release alone in its batch, then on its first delivery it goes batched (no chain reads first), and a retried one alone goes the per-job way (release)', async () => {
    const [c] = await decided(['job-rb9']);
    await under.service.app.get(SettlementExecutor).handle(await batchOf(['job-rb9']));
    const [r] = await recorded('job-rb9');
    expect(r).toMatchObject({ type: 'ContractReleased', data: { amountWei: c!.escrowWei, txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/) } });
    const tx = await under.infra.chain!.clients.publicClient.getTransaction({ hash: r!.data.txHash as Hex });
    expect(decodeFunctionData({ abi: artifacts().ComputeEscrow.abi, data: tx.input }).functionName).toBe('releaseBatch');

    const [c2] = await decided(['job-rb9b']);
    await under.service.app.get(SettlementExecutor).handle((await batchOf(['job-rb9b'])).map((s) => ({ ...s, redelivered: true })));
    const [r2] = await recorded('job-rb9b');
    expect(r2).toMatchObject({ type: 'ContractReleased', data: { amountWei: c2!.escrowWei, txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/) } });
    const tx2 = await under.infra.chain!.clients.publicClient.getTransaction({ hash: r2!.data.txHash as Hex });
    expect(decodeFunctionData({ abi: artifacts().ComputeEscrow.abi, data: tx2.input }).functionName).toBe('release');
  }, 60_000);

  it('given the batched transaction fails (its chain does not answer), then every job of the batch settles the per-job way, each in its own transaction', async () => {
    const jobIds = ['job-rb10', 'job-rb11', 'job-rb12'];
    const contracts = await decided(jobIds);
    // an executor whose batched releases go to a chain that does not answer (nothing listens on
    // port 9); its per-job path (ExecuteSettlement) is the service's own, on the real chain
    const chain = under.service.app.get(SettlementChain);
    const dead = createChainClients('http://127.0.0.1:9', chain.chainId);
    const unreachable = { ...chain, publicClient: dead.publicClient, wallet: dead.wallet(chain.wallet.account) } as SettlementChain;
    const executor = new SettlementExecutor(under.service.rt, under.service.app.get(ExecuteSettlement), under.service.app.get(Slashing), unreachable);
    const txsBefore = await settlementTxs();

    await executor.handle(await batchOf(jobIds));

    expect(await settlementTxs()).toBe(txsBefore + 3);
    const records = await Promise.all(jobIds.map(recorded));
    expect(records.map((r) => r.map((e) => e.type))).toEqual([['ContractReleased'], ['ContractReleased'], ['ContractReleased']]);
    expect(new Set(records.map((r) => r[0]!.data.txHash)).size).toBe(3);
    for (const c of contracts) expect(await balanceOf(under.infra, c.node.address)).toBe(c.escrowWei);
  }, 60_000);
});
