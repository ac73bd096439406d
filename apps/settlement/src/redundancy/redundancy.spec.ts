import { generatePrivateKey, privateKeyToAccount, type LocalAccount } from 'viem/accounts';
import { mintAgpu, signResult, stakeAgpu } from '@starminer/chain';
import { draft, redundantCopyJobIds, resultHashOf, type ResultComparison } from '@starminer/domain';
import { COMMANDS, EXAMPLE_EVENT_DATA, type TradeEvent, type Workload } from '@starminer/events';
import { appendDrafts, eventually, serviceUnderTest } from '@starminer/service-testing';
import { SettlementModule } from '../settlement.module';
import { AGPU, balanceOf, eventsOf, openContract, type OpenContract } from '../testing/settlement-fixture';

const under = serviceUnderTest(SettlementModule, { chain: true });

/** A command workload: not recomputable, so the copies' comparison is what checks it. */
const WORKLOAD: Workload = { kind: 'command', command: ['python3', 'model.py'] };
const typesOf = (events: TradeEvent[]) => events.map((e) => e.type);
const contractEvents = (jobId: string) => eventsOf(under.infra, `trade.contract.${jobId}`);
const until = (jobId: string, type: TradeEvent['type'], timeoutMs = 30_000) => eventually(async () => (await contractEvents(jobId)).some((e) => e.type === type), timeoutMs);

/** The copies of one group, each its own contract on anvil (its own requester account, escrow and node). */
async function openGroup(groupId: string, copies: number, compare: ResultComparison, o: { nodes?: readonly (LocalAccount | undefined)[]; deadlineInSec?: (copyIndex: number) => number } = {}): Promise<OpenContract[]> {
  const out: OpenContract[] = [];
  for (const [copyIndex, jobId] of redundantCopyJobIds(groupId, copies).entries()) {
    out.push(
      await openContract(under.infra, {
        jobId,
        nodeId: `node-${jobId}`,
        workload: WORKLOAD,
        matched: true,
        redundantCopy: { groupId, copyIndex, copies, compare },
        ...(o.nodes?.[copyIndex] ? { node: o.nodes[copyIndex], nodeId: `node-${jobId}` } : {}),
        ...(o.deadlineInSec ? { deadlineInSec: o.deadlineInSec(copyIndex) } : {}),
      }),
    );
  }
  return out;
}

/** What the copy's node submits: `output`, its sha256 as the result hash, signed by the node key. */
async function submit(c: OpenContract, output: string) {
  const resultHash = resultHashOf(output);
  const proofHash = resultHashOf(`ran ${output}`);
  const signature = await signResult(c.node, { addresses: { escrow: under.infra.chain!.addresses.escrow }, chainId: under.infra.chain!.anvil.chainId, jobId: c.jobId, resultHash, proofHash });
  return under.service.bus.send(COMMANDS.settlement.submitResult, { jobId: c.jobId, nodeId: c.nodeId, nodeAddress: c.node.address, output, resultHash, proofHash, signature });
}

/** A node key with `stakeWei` staked in `poolId`, registered as `nodeId` (slashing reads its pool from the registration). */
async function stakedNode(nodeId: string, poolId: string, stakeWei: bigint): Promise<LocalAccount> {
  const chain = under.infra.chain!;
  const node = privateKeyToAccount(generatePrivateKey());
  await mintAgpu(chain.clients.wallet(chain.roles.minter), chain.clients.publicClient, { token: chain.addresses.token, to: node.address, amountWei: stakeWei });
  await stakeAgpu(chain.clients.wallet(chain.roles.minter), chain.clients.publicClient, { addresses: chain.addresses, poolId, staker: node, amountWei: stakeWei });
  await appendDrafts(under.infra.log, 'node', nodeId, [draft('NodeRegistered', { ...EXAMPLE_EVENT_DATA.NodeRegistered, nodeId, nodeAddress: node.address, poolId })]);
  return node;
}

describe('redundancy: the group verdict (issue 17)', () => {
  it('given k = 3 and one dishonest staked node, then each result is held until all are in; the two honest nodes are paid, the third is refunded and slashed', async () => {
    const dishonest = await stakedNode('node-rg1-c2', 'pool-rg1', 10n * AGPU);
    const [a, b, c] = await openGroup('rg1', 3, { mode: 'exact' }, { nodes: [undefined, undefined, dishonest] });

    await expect(submit(a, '[1,2,3]')).resolves.toMatchObject({ status: 'awaiting-verdict' });
    await expect(submit(c, '[1,2,4]')).resolves.toMatchObject({ status: 'awaiting-verdict' });
    // held: nothing is decided while a copy may still submit
    expect(typesOf(await contractEvents(a.jobId))).toEqual(['ContractOpened', 'ResultSubmitted']);
    // and a second result for a held copy is refused
    await expect(submit(a, '[1,2,3]')).rejects.toMatchObject({ code: 'RESULT_ALREADY_FINAL' });

    await submit(b, '[1,2,3]');
    await until(a.jobId, 'ContractReleased');
    await until(b.jobId, 'ContractReleased');
    await until(c.jobId, 'ContractRefunded');

    expect(typesOf(await contractEvents(a.jobId))).toEqual(['ContractOpened', 'ResultSubmitted', 'RedundancyVerdictRecorded', 'SettlementDecided', 'ContractReleased']);
    const verdict = (await contractEvents(c.jobId)).find((e) => e.type === 'RedundancyVerdictRecorded');
    expect(verdict?.data).toMatchObject({ groupId: 'rg1', copyIndex: 2, copies: 3, outcome: 'dissent', agreeingNodeIds: [a.nodeId, b.nodeId].sort(), dissentingNodeIds: [c.nodeId] });
    expect(typesOf(await contractEvents(c.jobId))).toEqual(['ContractOpened', 'ResultSubmitted', 'RedundancyVerdictRecorded', 'ResultRejected', 'SettlementDecided', 'ContractRefunded']);

    // paid: the honest nodes; not paid: the dissenter, whose requester gets the escrow back and the slash
    expect(await balanceOf(under.infra, a.node.address)).toBe(a.escrowWei);
    expect(await balanceOf(under.infra, b.node.address)).toBe(b.escrowWei);
    expect(await balanceOf(under.infra, c.node.address)).toBe(0n);
    await eventually(async () => (await eventsOf(under.infra, 'trade.pool.pool-rg1')).length > 0, 20_000);
    const [slashed] = await eventsOf(under.infra, 'trade.pool.pool-rg1');
    expect(slashed).toMatchObject({ type: 'StakeSlashed', data: { jobId: c.jobId, nodeId: c.nodeId, recipient: c.requester.address } });
    const slashedWei = (slashed.data as { amountWei: bigint }).amountWei;
    expect(slashedWei).toBeGreaterThan(0n);
    expect(await balanceOf(under.infra, c.requester.address)).toBe(c.escrowWei + slashedWei);
  }, 90_000);

  it('given k = 2 that disagree, then it is a tie: both copies are refunded with the reason, neither node is paid or slashed', async () => {
    const [a, b] = await openGroup('rg2', 2, { mode: 'exact' });
    await submit(a, '[1,2,3]');
    await submit(b, '[9,9,9]');
    await until(a.jobId, 'ContractRefunded');
    await until(b.jobId, 'ContractRefunded');
    for (const copy of [a, b]) {
      const events = await contractEvents(copy.jobId);
      expect(typesOf(events)).toEqual(['ContractOpened', 'ResultSubmitted', 'RedundancyVerdictRecorded', 'SettlementDecided', 'ContractRefunded']);
      expect(events[3].data).toMatchObject({ outcome: 'refund', reason: expect.stringMatching(/no result was submitted by a majority of the 2 copies \(2 needed\)/) });
      expect(await balanceOf(under.infra, copy.node.address)).toBe(0n);
      expect(await balanceOf(under.infra, copy.requester.address)).toBe(copy.escrowWei);
    }
  }, 60_000);

  it('given float outputs within the stated tolerance, then all copies agree and are paid', async () => {
    const copies = await openGroup('rg3', 3, { mode: 'tolerance', absTolerance: 2e-3, relTolerance: 0 });
    const outputs = ['[0.5,1.25]', '[0.5011,1.25]', '[0.4995,1.2491]'];
    for (const [i, copy] of copies.entries()) await submit(copy, outputs[i]);
    for (const copy of copies) await until(copy.jobId, 'ContractReleased');
    for (const copy of copies) expect(await balanceOf(under.infra, copy.node.address)).toBe(copy.escrowWei);
  }, 60_000);

  it("given a copy that never submits, when the held copies' deadline passes, then the held runs are decided without it (two of three agree)", async () => {
    // copies 0 and 1 must be in within seconds; copy 2 has an hour and never submits
    const [a, b, c] = await openGroup('rg4', 3, { mode: 'exact' }, { deadlineInSec: (i) => (i < 2 ? 6 : 3600) });
    await submit(a, '[7]');
    await submit(b, '[7]');
    await until(a.jobId, 'ContractReleased', 40_000);
    await until(b.jobId, 'ContractReleased', 40_000);
    expect(typesOf(await contractEvents(c.jobId))).toEqual(['ContractOpened']);
  }, 60_000);
});
