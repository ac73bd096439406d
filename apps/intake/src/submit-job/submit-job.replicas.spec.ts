import { uuidv7 } from 'uuidv7';
import { agpuBalance, mintAgpu } from '@starminer/chain';
import { DomainError } from '@starminer/domain';
import { COMMANDS, toJson, type PayloadOf, type ReplyOf } from '@starminer/events';
import { appendDrafts, startService, startTestInfra, type ServiceUnderTest, type TestInfra } from '@starminer/service-testing';
import { IntakeModule } from '../intake.module';
import { SubmitJobHandler } from './submit-job.handler';
import { intakeJobSpec } from '../testing/job-spec';

const AGPU = 10n ** 18n;
const ORG = 'org-replicas';
const ACCOUNT = `0x${'3c'.repeat(20)}`;
/** Submissions fired at each replica at once; together they ask for far more than the balance. */
const PER_REPLICA = 20;
const BUDGET = 7n * AGPU;

let infra: TestInfra;
type Submit = PayloadOf<typeof COMMANDS.intake.submitJob>;

/** A replica's own handler, called with the payload as it comes off the wire (the handler parses it), so each replica is sure to decide. */
const submitAt = (replica: ServiceUnderTest, payload: Submit): Promise<ReplyOf<typeof COMMANDS.intake.submitJob>> =>
  replica.app.get(SubmitJobHandler).submitJob(JSON.parse(toJson(payload)) as Submit);

let replicas: ServiceUnderTest[] = [];

const spec = (budgetWei: bigint) => intakeJobSpec({ budgetWei, workload: { kind: 'hash-chain', seed: 'replicas-spec', iterations: 1000 } });

beforeAll(async () => {
  infra = await startTestInfra({ chain: true });
  // two replicas of intake on the same log, database and chain, as Kubernetes runs them
  replicas = [await startService(IntakeModule, infra), await startService(IntakeModule, infra)];
  await appendDrafts(infra.log, 'account', ORG, [{ type: 'OrgRegistered', data: { orgId: ORG, name: ORG, accountAddress: ACCOUNT, custodyIndex: 1 } }]);
  await mintAgpu(infra.chain!.clients.wallet(infra.chain!.roles.minter), infra.chain!.clients.publicClient, { token: infra.chain!.addresses.token, to: ACCOUNT as `0x${string}`, amountWei: 100n * AGPU });
}, 120_000);

afterAll(async () => {
  for (const r of replicas) await r.stop();
  await infra?.stop();
});

describe('two intake instances', () => {
  it('never overspend one org: concurrent submissions at both reserve at most the balance, and every refusal is INSUFFICIENT_FUNDS', async () => {
    const balance = await agpuBalance(infra.chain!.clients.publicClient, { token: infra.chain!.addresses.token, account: ACCOUNT as `0x${string}` });
    expect(BUDGET * BigInt(PER_REPLICA * replicas.length)).toBeGreaterThan(balance);
    // each replica's own handler, so both decide at the same time (their in-process turns are per replica)
    const outcomes = await Promise.allSettled(
      Array.from({ length: PER_REPLICA }, (_, i) => replicas.map((r, n) => submitAt(r, { orgId: ORG, jobId: uuidv7(), requestId: `req-${n}-${i}`, spec: spec(BUDGET) }))).flat(),
    );
    const accepted = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => o.reason as DomainError);
    expect(refused.map((e) => e.code)).toEqual(refused.map(() => 'INSUFFICIENT_FUNDS'));
    // at most the balance, and no more refused than the balance demands
    expect(BigInt(accepted.length) * BUDGET).toBeLessThanOrEqual(balance);
    expect(accepted.length).toBe(Number(balance / BUDGET));

    // the log agrees: the jobs submitted, and the org's open reservations, are within the balance
    const account = (await infra.log.readSubject(`trade.account.${ORG}`)).events.map((e) => e.event);
    const reserved = account.filter((e) => e.type === 'FundsReserved').map((e) => (e.data as { amountWei: bigint }).amountWei);
    expect(reserved.reduce((a, b) => a + b, 0n)).toBeLessThanOrEqual(balance);
    expect(reserved).toHaveLength(accepted.length);
  }, 120_000);

  it('answer the same request sent to both with one job', async () => {
    const jobId = uuidv7();
    const payload = { orgId: ORG, jobId, requestId: 'req-both', spec: spec(AGPU / 10n) };
    // the org is out of funds after the first test: fund it a little more
    await mintAgpu(infra.chain!.clients.wallet(infra.chain!.roles.minter), infra.chain!.clients.publicClient, { token: infra.chain!.addresses.token, to: ACCOUNT as `0x${string}`, amountWei: AGPU });
    const answers = await Promise.all([...replicas, ...replicas].map((r) => submitAt(r, payload)));
    expect(new Set(answers.map((a) => a.seq)).size).toBe(1);
    expect((await infra.log.readSubject(`trade.job.${jobId}`)).events).toHaveLength(1);
  }, 60_000);
});
