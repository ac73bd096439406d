import { uuidv7 } from 'uuidv7';
import { getAddress, type Address } from 'viem';
import { agpuBalance, OPEN_REJECTION_CODES, readComputeContract } from '@starminer/chain';
import { COMMANDS, EXAMPLE_EVENT_DATA, LIMITS, makeEvent, toJson, type EventData } from '@starminer/events';
import { appendDrafts, countEvents, eventually, getJson, publishRaw, rawEvent, startService, startTestInfra, type ServiceUnderTest, type TestInfra } from '@starminer/service-testing';
import type { StoredEvent } from '@starminer/trade-log';
import { DeployerModule } from '../deployer.module';
import { OPEN_CONTRACTS_DURABLE, OpenContractsConsumer } from './open-contracts.consumer';

const AGPU = 10n ** 18n;
const PROVIDER = `0x${'5e'.repeat(20)}`;
const FUNDED_ORG = 'org-open-funded';
const BROKE_ORG = 'org-open-broke';
let infra: TestInfra;
let deployer: ServiceUnderTest;
const accounts: Record<string, Address> = {};

beforeAll(async () => {
  infra = await startTestInfra({ chain: true });
  deployer = await startService(DeployerModule, infra);
  // as the gateway does: a custodial slot, then OrgRegistered with it; one org gets funds from the faucet
  for (const orgId of [FUNDED_ORG, BROKE_ORG]) {
    const slot = await deployer.bus.send(COMMANDS.deployer.allocateAccount, { orgId });
    accounts[orgId] = slot.accountAddress as Address;
    await appendDrafts(infra.log, 'account', orgId, [{ type: 'OrgRegistered', data: { orgId, name: orgId, accountAddress: slot.accountAddress, custodyIndex: slot.custodyIndex } }]);
  }
  await deployer.bus.send(COMMANDS.deployer.mint, { orgId: FUNDED_ORG, amountWei: 100n * AGPU, requestId: 'open-spec-funds' });
}, 120_000);

afterAll(async () => {
  await deployer?.stop();
  await infra?.stop();
});

const chain = () => ({ publicClient: infra.chain!.clients.publicClient, addresses: infra.chain!.addresses });
const balanceOf = (account: Address) => agpuBalance(chain().publicClient, { token: chain().addresses.token, account });
const submitted = (jobId: string, orgId: string): { type: 'JobSubmitted'; data: EventData<'JobSubmitted'> } => ({
  type: 'JobSubmitted',
  data: { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId, orgId, requesterAddress: accounts[orgId] ?? EXAMPLE_EVENT_DATA.JobSubmitted.requesterAddress },
});
const matched = (jobId: string, costWei = AGPU / 30n): { type: 'JobMatched'; data: EventData<'JobMatched'> } => ({
  type: 'JobMatched',
  data: { ...EXAMPLE_EVENT_DATA.JobMatched, jobId, nodeAddress: PROVIDER, costWei, quote: { costWei: costWei.toString() }, receipt: { jobId } },
});
/**
 * JobMatched events handed to the handler as one batch, as the consumer does when matches arrive
 * together (they are not on the log, so the running consumer never sees them).
 */
const matchBatch = (jobIds: string[]): StoredEvent[] =>
  jobIds.map((jobId, i) => ({
    seq: 1_000_000 + i,
    subject: `trade.job.${jobId}`,
    redelivered: false,
    event: makeEvent('JobMatched', matched(jobId).data, { id: uuidv7(), aggregateId: jobId, occurredAt: new Date().toISOString(), correlationId: jobId, causationId: jobId, actor: 'test' }),
  }));
const contractEvents = async (jobId: string) => (await infra.log.readSubject(`trade.contract.${jobId}`)).events.map((e) => e.event);
/** Resolves once the consumer has handled (acked, parked or termed) everything up to `seq`. */
const handledUpTo = (seq: number) => eventually(() => deployer.rt.reader(OPEN_CONTRACTS_DURABLE)!.health().position >= seq, 15_000);
const parked = async () => (await deployer.bus.send(COMMANDS.deployer.listParked, {})).parked;

describe('opening a contract per JobMatched (durable consumer deployer-matches)', () => {
  it('given an org with a custody slot and funds, when its job is submitted and matched, then ContractOpened is recorded and the escrow holds the cost on chain', async () => {
    const cost = 3n * AGPU;
    const [escrowBefore, requesterBefore] = [await balanceOf(chain().addresses.escrow), await balanceOf(accounts[FUNDED_ORG])];
    const [, matchSeq] = await appendDrafts(infra.log, 'job', 'job-open-1', [submitted('job-open-1', FUNDED_ORG), matched('job-open-1', cost)]);
    await eventually(async () => (await contractEvents('job-open-1')).length > 0, 15_000);
    const [opened] = await contractEvents('job-open-1');
    const { events: job } = await infra.log.readSubject('trade.job.job-open-1');
    expect(opened).toMatchObject({
      type: 'ContractOpened',
      causationId: job[1].event.id,
      correlationId: 'job-open-1',
      actor: 'service:deployer',
      data: { jobId: 'job-open-1', requesterAddress: accounts[FUNDED_ORG], nodeAddress: PROVIDER, escrowWei: cost, contractAddress: chain().addresses.escrow },
    });
    const onChain = await readComputeContract(chain().publicClient, { addresses: chain().addresses, jobId: 'job-open-1' });
    expect(onChain).toMatchObject({ status: 'open', costWei: cost, requester: accounts[FUNDED_ORG], provider: getAddress(PROVIDER) });
    expect(await balanceOf(chain().addresses.escrow)).toBe(escrowBefore + cost);
    expect(await balanceOf(accounts[FUNDED_ORG])).toBe(requesterBefore - cost);
    // the match is acked: a redelivery would find the contract recorded and do nothing
    await handledUpTo(matchSeq);
    expect(await contractEvents('job-open-1')).toHaveLength(1);
  });

  it('given a requester without funds, then ContractOpenFailed with a permanent chain code, and nothing on chain', async () => {
    await appendDrafts(infra.log, 'job', 'job-open-broke', [submitted('job-open-broke', BROKE_ORG), matched('job-open-broke')]);
    await eventually(async () => (await contractEvents('job-open-broke')).length > 0, 15_000);
    const [failed] = await contractEvents('job-open-broke');
    expect(failed.type).toBe('ContractOpenFailed');
    const data = failed.data as EventData<'ContractOpenFailed'>;
    expect(OPEN_REJECTION_CODES.has(data.code)).toBe(true);
    expect(data.reason.length).toBeGreaterThan(0);
    expect(data.reason.length).toBeLessThanOrEqual(LIMITS.reasonLengthMax);
    expect((await readComputeContract(chain().publicClient, { addresses: chain().addresses, jobId: 'job-open-broke' })).status).toBe('none');
  });

  it('given a batch of matches of funded requesters, then they are opened in one transaction, and a redelivered batch records nothing more', async () => {
    const jobs = ['job-batch-1', 'job-batch-2', 'job-batch-3'];
    for (const jobId of jobs) await appendDrafts(infra.log, 'job', jobId, [submitted(jobId, FUNDED_ORG)]);
    const batch = matchBatch(jobs);
    await deployer.app.get(OpenContractsConsumer).onJobEvents(batch);
    const opened = (await Promise.all(jobs.map(contractEvents))).map(([e]) => e);
    expect(opened.map((e) => e?.type)).toEqual(['ContractOpened', 'ContractOpened', 'ContractOpened']);
    const txHashes = new Set(opened.map((e) => (e!.data as EventData<'ContractOpened'>).txHash));
    expect(txHashes.size).toBe(1);
    expect([...txHashes][0]).toMatch(/^0x[0-9a-f]{64}$/);
    await deployer.app.get(OpenContractsConsumer).onJobEvents(batch);
    expect((await Promise.all(jobs.map(contractEvents))).map((e) => e.length)).toEqual([1, 1, 1]);
  });

  it('given a batch with one requester short of funds, then the batch reverts, the others are opened one by one and that one fails, each recorded once', async () => {
    const jobs = ['job-many-1', 'job-many-2', 'job-many-3'];
    for (const jobId of jobs) await appendDrafts(infra.log, 'job', jobId, [submitted(jobId, jobId === 'job-many-2' ? BROKE_ORG : FUNDED_ORG)]);
    await deployer.app.get(OpenContractsConsumer).onJobEvents(matchBatch(jobs));
    const recorded = await Promise.all(jobs.map(contractEvents));
    expect(recorded.map((events) => events.map((e) => e.type))).toEqual([['ContractOpened'], ['ContractOpenFailed'], ['ContractOpened']]);
    const [first, , third] = recorded.map(([e]) => (e.data as { txHash?: string }).txHash);
    expect(first).not.toBe(third);
  });

  it('given a job that failed before its contract was opened, then nothing is opened or recorded', async () => {
    const [, , seq] = await appendDrafts(infra.log, 'job', 'job-open-failed', [
      submitted('job-open-failed', FUNDED_ORG),
      { type: 'JobFailed', data: { jobId: 'job-open-failed', code: 'NO_NODE', reason: 'gone' } },
      matched('job-open-failed'),
    ]);
    await handledUpTo(seq);
    expect(await contractEvents('job-open-failed')).toEqual([]);
    expect((await readComputeContract(chain().publicClient, { addresses: chain().addresses, jobId: 'job-open-failed' })).status).toBe('none');
  });
});

describe('a match the deployer can never open', () => {
  it.each([
    ['its job has no JobSubmitted', 'job-no-submit', [] as { type: 'JobSubmitted'; data: EventData<'JobSubmitted'> }[], /no JobSubmitted/],
    ['its org has no custody slot', 'job-no-slot', [submitted('job-no-slot', 'org-without-slot')], /no custodial account slot/],
  ])('given %s, then it is parked at once (not retried), readiness stays green, and the next good match still opens', async (_what, jobId, before, why) => {
    const [seq] = (await appendDrafts(infra.log, 'job', jobId, [...before, matched(jobId)])).slice(-1);
    await eventually(async () => (await parked()).some((p) => p.seq === seq), 10_000);
    const mine = (await parked()).find((p) => p.seq === seq)!;
    expect(mine).toMatchObject({ reader: OPEN_CONTRACTS_DURABLE, key: jobId, type: 'JobMatched', blockedBy: null, attempts: 1 });
    expect(mine.error).toMatch(why);
    expect(await contractEvents(jobId)).toEqual([]);
    // the next good match goes through
    await appendDrafts(infra.log, 'job', `${jobId}-next`, [submitted(`${jobId}-next`, FUNDED_ORG), matched(`${jobId}-next`)]);
    await eventually(async () => (await contractEvents(`${jobId}-next`)).some((e) => e.type === 'ContractOpened'), 15_000);
    // opening contracts is not a reader of money balances: a parked match leaves the service ready
    const ready = await getJson(`${deployer.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body.details.readers[OPEN_CONTRACTS_DURABLE]).toMatchObject({ critical: false, state: 'running' });
  });

  it('given a JobMatched the catalogue refuses, written straight onto the stream, then it is parked, the metric says so, and the service goes on', async () => {
    const bad = rawEvent('JobMatched', 'job-broken', { ...JSON.parse(toJson(matched('job-broken').data)), costWei: '-5' });
    const seq = await publishRaw(infra.log, 'trade.job.job-broken', bad);
    await eventually(async () => (await parked()).some((p) => p.seq === seq), 10_000);
    expect((await parked()).find((p) => p.seq === seq)).toMatchObject({ reader: OPEN_CONTRACTS_DURABLE, key: 'job-broken', type: 'JobMatched' });
    expect((await getJson(`${deployer.url}/metrics`)).body).toMatch(new RegExp(`starminer_parked_events\\{[^}]*reader="${OPEN_CONTRACTS_DURABLE}"[^}]*\\} [1-9]`));
    expect((await getJson(`${deployer.url}/health/ready`)).status).toBe(200);
    expect(await countEvents(infra.log, 'trade.contract.job-broken')).toBe(0);
    // a retry of an event that is still wrong keeps it parked
    const retried = await deployer.bus.send(COMMANDS.deployer.retryParked, { reader: OPEN_CONTRACTS_DURABLE, key: 'job-broken' });
    expect(retried).toMatchObject({ applied: 0, stillParked: [expect.objectContaining({ seq })] });
    // and other jobs are served
    await appendDrafts(infra.log, 'job', 'job-after-broken', [submitted('job-after-broken', FUNDED_ORG), matched('job-after-broken')]);
    await eventually(async () => (await contractEvents('job-after-broken')).some((e) => e.type === 'ContractOpened'), 15_000);
  });
});
