import { uuidv7 } from 'uuidv7';
import { getAddress, type Address } from 'viem';
import { agpuBalance, readComputeContract } from '@starminer/chain';
import { COMMANDS, EXAMPLE_EVENT_DATA, makeEvent, type EventData } from '@starminer/events';
import { appendDrafts, eventually, startService, startTestInfra, type ServiceUnderTest, type TestInfra } from '@starminer/service-testing';
import { DeployerModule } from '../deployer.module';
import { PendingReassignRow } from './pending-reassign-row.entity';
import { ReassignContractsService } from './reassign-contracts.service';

const AGPU = 10n ** 18n;
const FIRST = `0x${'5e'.repeat(20)}`;
const SECOND = `0x${'6f'.repeat(20)}`;
const ORG = 'org-reassign';
let infra: TestInfra;
let deployer: ServiceUnderTest;
let requester: Address;

beforeAll(async () => {
  infra = await startTestInfra({ chain: true });
  deployer = await startService(DeployerModule, infra);
  const slot = await deployer.bus.send(COMMANDS.deployer.allocateAccount, { orgId: ORG });
  requester = slot.accountAddress as Address;
  await appendDrafts(infra.log, 'account', ORG, [{ type: 'OrgRegistered', data: { orgId: ORG, name: ORG, accountAddress: slot.accountAddress, custodyIndex: slot.custodyIndex } }]);
  await deployer.bus.send(COMMANDS.deployer.mint, { orgId: ORG, amountWei: 100n * AGPU, requestId: 'reassign-spec-funds' });
}, 120_000);

afterAll(async () => {
  await deployer?.stop();
  await infra?.stop();
});

const chain = () => ({ publicClient: infra.chain!.clients.publicClient, addresses: infra.chain!.addresses });
const balanceOf = (account: Address) => agpuBalance(chain().publicClient, { token: chain().addresses.token, account });
const submittedData = (jobId: string): EventData<'JobSubmitted'> => ({ ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId, orgId: ORG, requesterAddress: requester });
const matchedData = (jobId: string, nodeId: string, nodeAddress: string, costWei: bigint, attempt?: number): EventData<'JobMatched'> => ({
  ...EXAMPLE_EVENT_DATA.JobMatched,
  jobId,
  nodeId,
  nodeAddress,
  costWei,
  quote: { costWei: costWei.toString() },
  receipt: { jobId },
  ...(attempt === undefined ? {} : { attempt }),
});
const contractTypes = async (jobId: string) => (await infra.log.readSubject(`trade.contract.${jobId}`)).events.map((e) => (e.event as { type: string }).type);

describe('moving the escrow to a re-matched node (durable consumer deployer-rematches)', () => {
  it("given a failed attempt and the job's next match, then the escrow moves on chain to the new node once, the difference back to the requester", async () => {
    const jobId = 'job-reassign-1';
    const cost = 3n * AGPU;
    const newCost = 2n * AGPU;
    // attempt 1: opened by the deployer as any match
    await appendDrafts(infra.log, 'job', jobId, [
      { type: 'JobSubmitted', data: submittedData(jobId) },
      { type: 'JobMatched', data: matchedData(jobId, 'node-r1', FIRST, cost) },
    ]);
    await eventually(async () => (await contractTypes(jobId)).includes('ContractOpened'), 15_000);
    // settlement fails the attempt (node offline); matching queues the job again and matches it on another node
    await appendDrafts(infra.log, 'contract', jobId, [
      { type: 'ContractAttemptFailed', data: { jobId, attempt: 1, nodeId: 'node-r1', nodeAddress: FIRST, code: 'NODE_OFFLINE', reason: 'gone', exhausted: false, slash: 'not-slashed-no-rule' } },
    ]);
    const requesterBefore = await balanceOf(requester);
    const firstBefore = await balanceOf(FIRST as Address);
    const [, matchSeq] = await appendDrafts(infra.log, 'job', jobId, [
      { type: 'JobRequeued', data: { jobId, attempt: 2, failedNodeId: 'node-r1', excludedNodeIds: ['node-r1'], code: 'NODE_OFFLINE', reason: 'gone', budgetWei: cost, submitted: submittedData(jobId) } },
      { type: 'JobMatched', data: matchedData(jobId, 'node-r2', SECOND, newCost, 2) },
    ]);
    await eventually(async () => (await contractTypes(jobId)).includes('ContractReassigned'), 20_000);
    const events = (await infra.log.readSubject(`trade.contract.${jobId}`)).events.map((e) => e.event as { type: string; actor: string; data: Record<string, unknown> });
    expect(events.map((e) => e.type)).toEqual(['ContractOpened', 'ContractAttemptFailed', 'ContractReassigned']);
    expect(events[2]).toMatchObject({ actor: 'service:deployer', data: { attempt: 2, nodeId: 'node-r2', nodeAddress: SECOND, escrowWei: newCost, returnedWei: cost - newCost } });
    const onChain = await readComputeContract(chain().publicClient, { addresses: chain().addresses, jobId });
    expect(onChain).toMatchObject({ status: 'open', attempt: 2, provider: getAddress(SECOND), costWei: newCost, openProvider: getAddress(FIRST) });
    expect(onChain.deadlineSec).toBe(events[2]!.data.deadlineUnixSec);
    expect(await balanceOf(requester)).toBe(requesterBefore + (cost - newCost));
    expect(await balanceOf(FIRST as Address)).toBe(firstBefore);

    // the match delivered again (a redelivery, the reconciler): nothing moves twice
    const service = deployer.app.get(ReassignContractsService);
    const matched = (await infra.log.readSubject(`trade.job.${jobId}`)).events.find((e) => e.seq === matchSeq)!;
    const again = makeEvent('JobMatched', matchedData(jobId, 'node-r2', SECOND, newCost, 2), { id: (matched.event as { id: string }).id, aggregateId: jobId, occurredAt: (matched.event as { occurredAt: string }).occurredAt, correlationId: jobId, causationId: jobId, actor: 'service:matching' });
    await service.onJobEvents([{ seq: matchSeq, subject: `trade.job.${jobId}`, redelivered: true, event: again }]);
    expect(await contractTypes(jobId)).toEqual(['ContractOpened', 'ContractAttemptFailed', 'ContractReassigned']);
    expect(await balanceOf(requester)).toBe(requesterBefore + (cost - newCost));
    // the reconciler's row closed with the move recorded; a round finds nothing to do
    await eventually(async () => (await deployer.rt.db.getRepository(PendingReassignRow).findOneBy({ jobId }))?.closed === true, 15_000);
    expect(await service.reconcileOnce(Date.now() + 3_600_000)).toEqual({ retried: 0 });
  });

  it('given a match of a later attempt whose contract waits for no move, then nothing is sent', async () => {
    const jobId = 'job-reassign-2';
    await appendDrafts(infra.log, 'job', jobId, [{ type: 'JobSubmitted', data: submittedData(jobId) }, { type: 'JobMatched', data: matchedData(jobId, 'node-r1', FIRST, AGPU) }]);
    await eventually(async () => (await contractTypes(jobId)).includes('ContractOpened'), 15_000);
    const service = deployer.app.get(ReassignContractsService);
    const stray = makeEvent('JobMatched', matchedData(jobId, 'node-r2', SECOND, AGPU, 2), { id: uuidv7(), aggregateId: jobId, occurredAt: new Date().toISOString(), correlationId: jobId, causationId: jobId, actor: 'test' });
    await expect(service.reassignOne(stray as never)).resolves.toEqual({ kind: 'skipped' });
    const onChain = await readComputeContract(chain().publicClient, { addresses: chain().addresses, jobId });
    expect(onChain).toMatchObject({ attempt: 1, provider: getAddress(FIRST) });
  });
});
