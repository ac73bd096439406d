import { uuidv7 } from 'uuidv7';
import { connect } from '@nats-io/transport-node';
import { agpuBalance, mintAgpu } from '@starminer/chain';
import { DomainError } from '@starminer/domain';
import { COMMANDS, EXAMPLE_EVENT_DATA, LIMITS, toJson, type PayloadOf } from '@starminer/events';
import { appendDrafts, countEvents, eventually, getJson, publishRaw, rawEvent, startService, startTestInfra, type ServiceUnderTest, type TestInfra } from '@starminer/service-testing';
import { IntakeModule } from '../intake.module';
import { intakeJobSpec } from '../testing/job-spec';

const AGPU = 10n ** 18n;
let infra: TestInfra;
let intake: ServiceUnderTest;
const ORG = 'org-intake-1';
const OTHER_ORG = 'org-intake-2';
const ACCOUNT = `0x${'1a'.repeat(20)}`;
const OTHER_ACCOUNT = `0x${'2b'.repeat(20)}`;

const spec = intakeJobSpec;

beforeAll(async () => {
  infra = await startTestInfra({ chain: true });
  intake = await startService(IntakeModule, infra);
  const minter = infra.chain!.clients.wallet(infra.chain!.roles.minter);
  for (const [orgId, accountAddress] of [
    [ORG, ACCOUNT],
    [OTHER_ORG, OTHER_ACCOUNT],
  ]) {
    await appendDrafts(infra.log, 'account', orgId, [{ type: 'OrgRegistered', data: { orgId, name: orgId, accountAddress, custodyIndex: 1 } }]);
    await mintAgpu(minter, infra.chain!.clients.publicClient, { token: infra.chain!.addresses.token, to: accountAddress as `0x${string}`, amountWei: 100n * AGPU });
  }
}, 120_000);

afterAll(async () => {
  await intake?.stop();
  await infra?.stop();
});

const submit = (payload: PayloadOf<typeof COMMANDS.intake.submitJob>) => intake.bus.send(COMMANDS.intake.submitJob, payload);
const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as DomainError);
/** The reservation events of one job on its org's account. */
const reservationsOf = async (orgId: string, jobId: string) =>
  (await infra.log.readSubject(`trade.account.${orgId}`)).events.filter((e) => (e.event.data as { jobId?: string }).jobId === jobId).map((e) => e.event.type);

describe('cmd.intake.submitJob', () => {
  it('given an org with funds, when it submits a job, then its budget is reserved on the account and JobSubmitted is on the log with the spec', async () => {
    const before = await countEvents(infra.log, 'trade.job.>');
    const { jobId, seq } = await submit({ orgId: ORG, spec: spec(), jobId: uuidv7(), requestId: 'req-1' });
    expect(await countEvents(infra.log, 'trade.job.>')).toBe(before + 1);
    const { events } = await infra.log.readSubject(`trade.job.${jobId}`);
    expect(events.map((e) => [e.seq, e.event.type, e.event.causationId, e.event.actor])).toEqual([[seq, 'JobSubmitted', 'req-1', `org:${ORG}`]]);
    expect(events[0].event.data).toMatchObject({ jobId, orgId: ORG, requesterAddress: ACCOUNT, budgetWei: 10n * AGPU, workload: spec().workload });
    const account = (await infra.log.readSubject(`trade.account.${ORG}`)).events.map((e) => e.event);
    expect(account.find((e) => e.type === 'FundsReserved' && (e.data as { jobId: string }).jobId === jobId)).toMatchObject({
      causationId: 'req-1',
      data: { orgId: ORG, jobId, amountWei: 10n * AGPU },
    });
  });

  it('given reservations that hold most of the balance, when another budget exceeds what is left, then INSUFFICIENT_FUNDS and nothing appended', async () => {
    const balance = await agpuBalance(infra.chain!.clients.publicClient, { token: infra.chain!.addresses.token, account: OTHER_ACCOUNT as `0x${string}` });
    await submit({ orgId: OTHER_ORG, spec: spec({ budgetWei: (balance * 6n) / 10n }), jobId: uuidv7(), requestId: 'req-60' });
    const before = await countEvents(infra.log, 'trade.>');
    const err = await refusal(submit({ orgId: OTHER_ORG, spec: spec({ budgetWei: (balance * 6n) / 10n }), jobId: uuidv7(), requestId: 'req-60b' }));
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ code: 'INSUFFICIENT_FUNDS', kind: 'insufficient-funds' });
    // neither a job nor a reservation
    expect(await countEvents(infra.log, 'trade.>')).toBe(before);
  });

  it.each([
    ['an unknown org', { orgId: 'org-nobody', spec: spec(), jobId: uuidv7(), requestId: 'r' }, 'ORG_NOT_FOUND'],
    ['an unknown GPU model', { orgId: ORG, spec: spec({ requirements: { ...spec().requirements, gpuModels: ['H900'] } }), jobId: uuidv7(), requestId: 'r' }, 'UNKNOWN_GPU_MODEL'],
    ['VRAM no listed model has', { orgId: ORG, spec: spec({ requirements: { ...spec().requirements, minVramGiB: 200 } }), jobId: uuidv7(), requestId: 'r' }, 'REQUIREMENT_UNSATISFIABLE'],
    ['a deadline before the runtime', { orgId: ORG, spec: spec({ deadlineSec: 30 }), jobId: uuidv7(), requestId: 'r' }, 'DEADLINE_OUT_OF_RANGE'],
  ])('given %s, then the market refuses it by code and appends nothing', async (_what, payload, code) => {
    const before = await countEvents(infra.log, 'trade.>');
    expect(await refusal(submit(payload as PayloadOf<typeof COMMANDS.intake.submitJob>))).toMatchObject({ code });
    expect(await countEvents(infra.log, 'trade.>')).toBe(before);
  });

  it.each([
    ['a negative budget', { budgetWei: '-1' }, 'spec.budgetWei'],
    ['a node-sized GPU count past the limit', { requirements: { gpuModels: [], gpuCount: 17, minVramGiB: 0, tee: false, regions: [] } }, 'spec.requirements.gpuCount'],
    ['a NUL in the workload seed', { workload: { kind: 'hash-chain', seed: 'a\u0000b', iterations: 1 } }, 'spec.workload.seed'],
    ['maxLatencyMs: null', { requirements: { gpuModels: [], gpuCount: 1, minVramGiB: 0, tee: false, regions: [], maxLatencyMs: null } }, 'spec.requirements.maxLatencyMs'],
    ['a command item over its limit', { workload: { kind: 'command', command: ['x'.repeat(4097)] } }, 'spec.workload.command[0]'],
    ['an unknown field', { colour: 'blue' }, 'spec'],
  ])('given a payload with %s, then COMMAND_INVALID names the field, and no decider sees it', async (_what, over, field) => {
    const before = await countEvents(infra.log, 'trade.>');
    const wire = { orgId: ORG, jobId: uuidv7(), requestId: 'r', spec: { ...JSON.parse(JSON.stringify({ ...spec(), budgetWei: '1' })), ...over } };
    // sent raw, as any NATS client could: the handler's own parse is what refuses it
    const nc = await connect({ servers: infra.nats.url });
    try {
      const reply = JSON.parse((await nc.request(COMMANDS.intake.submitJob.subject, JSON.stringify(wire), { timeout: 5_000 })).string());
      expect(reply.err).toMatchObject({ code: 'COMMAND_INVALID', kind: 'invalid' });
      expect(reply.err.details.violations.map((v: { field: string }) => v.field)).toContain(field);
    } finally {
      await nc.close();
    }
    expect(await countEvents(infra.log, 'trade.>')).toBe(before);
  });

  it('given a command packet over the payload limit, then COMMAND_INVALID answered to the same packet id (a caller is not left to time out)', async () => {
    const nc = await connect({ servers: infra.nats.url });
    try {
      const packet = { pattern: COMMANDS.intake.submitJob.subject, id: 'packet-1', data: { orgId: ORG, jobId: uuidv7(), requestId: 'r', pad: 'x'.repeat(LIMITS.commandPayloadBytesMax) } };
      const reply = JSON.parse((await nc.request(COMMANDS.intake.submitJob.subject, JSON.stringify(packet), { timeout: 5_000 })).string());
      expect(reply).toMatchObject({ id: 'packet-1', err: { code: 'COMMAND_INVALID', kind: 'invalid' } });
      expect(reply.err.message).toMatch(/over \d+ bytes/);
    } finally {
      await nc.close();
    }
  });

  it('given a body that is not JSON on the command subject, then a typed COMMAND_INVALID reply, and the service goes on', async () => {
    const nc = await connect({ servers: infra.nats.url });
    try {
      const reply = JSON.parse((await nc.request(COMMANDS.intake.submitJob.subject, 'not json {', { timeout: 5_000 })).string());
      expect(reply.err).toMatchObject({ code: 'COMMAND_INVALID', kind: 'invalid' });
    } finally {
      await nc.close();
    }
    await expect(submit({ orgId: ORG, spec: spec(), jobId: uuidv7(), requestId: 'after-garbage' })).resolves.toMatchObject({ jobId: expect.any(String) });
  });
});

describe('the job id from the edge', () => {
  it('given the same request twice (a retry), then one job, one reservation, and the first answer', async () => {
    const jobId = uuidv7();
    const first = await submit({ orgId: ORG, spec: spec({ budgetWei: AGPU }), jobId, requestId: 'req-twice' });
    const again = await submit({ orgId: ORG, spec: spec({ budgetWei: AGPU }), jobId, requestId: 'req-twice' });
    expect(again).toEqual(first);
    expect((await infra.log.readSubject(`trade.job.${jobId}`)).events.map((e) => e.event.type)).toEqual(['JobSubmitted']);
    expect(await reservationsOf(ORG, jobId)).toEqual(['FundsReserved']);
  });

  it('given the same request sent concurrently, then one job and every answer is the first', async () => {
    const jobId = uuidv7();
    const answers = await Promise.all(Array.from({ length: 4 }, () => submit({ orgId: ORG, spec: spec({ budgetWei: AGPU }), jobId, requestId: 'req-burst' })));
    expect(new Set(answers.map((a) => `${a.jobId}#${a.seq}`)).size).toBe(1);
    expect((await infra.log.readSubject(`trade.job.${jobId}`)).events).toHaveLength(1);
    expect(await reservationsOf(ORG, jobId)).toEqual(['FundsReserved']);
  });

  it('given a job id another request holds (this org or another), then JOB_ID_IN_USE and nothing appended', async () => {
    const jobId = uuidv7();
    await submit({ orgId: ORG, spec: spec({ budgetWei: AGPU }), jobId, requestId: 'req-owner' });
    const before = await countEvents(infra.log, 'trade.>');
    expect(await refusal(submit({ orgId: ORG, spec: spec({ budgetWei: AGPU }), jobId, requestId: 'req-other' }))).toMatchObject({ code: 'JOB_ID_IN_USE', kind: 'conflict' });
    expect(await refusal(submit({ orgId: OTHER_ORG, spec: spec({ budgetWei: AGPU }), jobId, requestId: 'req-owner' }))).toMatchObject({ code: 'JOB_ID_IN_USE', kind: 'conflict' });
    expect(await countEvents(infra.log, 'trade.>')).toBe(before);
  });

  it('given a reservation left by a crash before its job, when the request is retried, then the job is submitted on that one reservation', async () => {
    const jobId = uuidv7();
    await appendDrafts(infra.log, 'account', ORG, [{ type: 'FundsReserved', data: { orgId: ORG, jobId, amountWei: AGPU } }]);
    const { seq } = await submit({ orgId: ORG, spec: spec({ budgetWei: AGPU }), jobId, requestId: 'req-crashed' });
    expect(seq).toBeGreaterThan(0);
    expect(await reservationsOf(ORG, jobId)).toEqual(['FundsReserved']);
    // the same id for another budget is another request
    const other = uuidv7();
    await appendDrafts(infra.log, 'account', ORG, [{ type: 'FundsReserved', data: { orgId: ORG, jobId: other, amountWei: AGPU } }]);
    expect(await refusal(submit({ orgId: ORG, spec: spec({ budgetWei: 2n * AGPU }), jobId: other, requestId: 'req-x' }))).toMatchObject({ code: 'JOB_ID_IN_USE' });
  });
});

describe('an event intake cannot apply, written straight onto the log', () => {
  it('is parked; no funds decision reads it, so readiness stays green and its org is served; the operator lists it', async () => {
    expect((await getJson(`${intake.url}/health/ready`)).status).toBe(200);
    // a JobSubmitted of ORG whose data the catalogue refuses (an older writer's)
    const bad = rawEvent('JobSubmitted', 'job-broken', { ...JSON.parse(toJson(EXAMPLE_EVENT_DATA.JobSubmitted)), jobId: 'job-broken', orgId: ORG, budgetWei: '-5' });
    const seq = await publishRaw(infra.log, 'trade.job.job-broken', bad);
    await eventually(async () => (await intake.bus.send(COMMANDS.intake.listParked, {})).parked.some((p) => p.reader === 'intake-jobs' && p.seq === seq));
    const ready = await getJson(`${intake.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body.info.readers['intake-jobs']).toMatchObject({ parked: 1, critical: false });
    // the org's funds are its account's reservations: it is served
    await expect(submit({ orgId: ORG, spec: spec({ budgetWei: AGPU }), jobId: uuidv7(), requestId: 'still-served' })).resolves.toMatchObject({ jobId: expect.any(String) });
    // the operator's view
    const listed = await intake.bus.send(COMMANDS.intake.listParked, {});
    expect(listed.parked).toContainEqual(expect.objectContaining({ reader: 'intake-jobs', seq, type: 'JobSubmitted', key: 'job-broken', blockedBy: null }));
    const metrics = await getJson(`${intake.url}/metrics`);
    expect(metrics.body).toMatch(/starminer_parked_events\{[^}]*reader="intake-jobs"[^}]*\} 1/);
    // a retry of an event that is still wrong keeps it parked, with its error
    const retried = await intake.bus.send(COMMANDS.intake.retryParked, { reader: 'intake-jobs', key: 'job-broken' });
    expect(retried).toMatchObject({ applied: 0, stillParked: [expect.objectContaining({ seq, attempts: 2 })] });
    const unknown = await refusal(intake.bus.send(COMMANDS.intake.retryParked, { reader: 'intake-jobs', key: 'job-never' }));
    expect(unknown).toMatchObject({ code: 'PARKED_EVENTS_NOT_FOUND' });
  });
});
