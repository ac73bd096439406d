import { connect } from '@nats-io/transport-node';
import { DomainError } from '@starminer/domain';
import { COMMANDS } from '@starminer/events';
import { countEvents, startService, startTestInfra, type ServiceUnderTest, type TestInfra } from '@starminer/service-testing';
import { SettlementModule } from '../settlement.module';
import { contractOnLog, eventsOf } from '../testing/settlement-fixture';

let infra: TestInfra;
let settlement: ServiceUnderTest;
const NODE_KEY = `0x${'4c'.repeat(20)}`;
const OTHER_KEY = `0x${'5d'.repeat(20)}`;

beforeAll(async () => {
  infra = await startTestInfra({ chain: true });
  settlement = await startService(SettlementModule, infra);
}, 120_000);

afterAll(async () => {
  await settlement?.stop();
  await infra?.stop();
});

const start = (jobId: string, nodeAddress: string) => settlement.bus.send(COMMANDS.settlement.startJob, { jobId, nodeId: 'node-s1', nodeAddress });
const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as DomainError);

describe('cmd.settlement.startJob', () => {
  it('given an open contract, when its node starts the job, then JobStarted is on the log once and the contract runs', async () => {
    await contractOnLog(infra, 'job-s1', NODE_KEY);
    await expect(start('job-s1', NODE_KEY)).resolves.toEqual({ status: 'running' });
    // a retried start (the agent lost the answer) changes nothing
    await expect(start('job-s1', NODE_KEY)).resolves.toEqual({ status: 'running' });
    const events = await eventsOf(infra, 'trade.contract.job-s1');
    expect(events.map((e) => [e.type, e.actor])).toEqual([
      ['ContractOpened', 'test'],
      ['JobStarted', 'node:node-s1'],
    ]);
    expect(events[1].data).toEqual({ jobId: 'job-s1', nodeId: 'node-s1' });
  });

  it('given an open contract of another node, when this key starts it, then NOT_ASSIGNED_NODE and nothing appended', async () => {
    await contractOnLog(infra, 'job-s2', NODE_KEY);
    const before = await countEvents(infra.log, 'trade.>');
    const err = await refusal(start('job-s2', OTHER_KEY));
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ code: 'NOT_ASSIGNED_NODE', kind: 'forbidden' });
    expect(await countEvents(infra.log, 'trade.>')).toBe(before);
  });

  it('given no contract for the job, then CONTRACT_NOT_OPEN and nothing appended', async () => {
    const before = await countEvents(infra.log, 'trade.>');
    expect(await refusal(start('job-s-none', NODE_KEY))).toMatchObject({ code: 'CONTRACT_NOT_OPEN', kind: 'conflict' });
    expect(await countEvents(infra.log, 'trade.>')).toBe(before);
  });

  it.each([
    ['a node address that is not an address', { jobId: 'job-s1', nodeId: 'node-s1', nodeAddress: '0x1234' }, 'nodeAddress'],
    ['a job id that is not a subject token', { jobId: 'job s1', nodeId: 'node-s1', nodeAddress: NODE_KEY }, 'jobId'],
    ['an unknown field', { jobId: 'job-s1', nodeId: 'node-s1', nodeAddress: NODE_KEY, force: true }, '(root)'],
  ])('given a payload with %s, then COMMAND_INVALID names the field, and nothing is appended', async (_what, wire, field) => {
    const before = await countEvents(infra.log, 'trade.>');
    const nc = await connect({ servers: infra.nats.url });
    try {
      const reply = JSON.parse((await nc.request(COMMANDS.settlement.startJob.subject, JSON.stringify(wire), { timeout: 5_000 })).string());
      expect(reply.err).toMatchObject({ code: 'COMMAND_INVALID', kind: 'invalid' });
      expect(reply.err.details.violations.map((v: { field: string }) => v.field)).toContain(field);
    } finally {
      await nc.close();
    }
    expect(await countEvents(infra.log, 'trade.>')).toBe(before);
  });
});
