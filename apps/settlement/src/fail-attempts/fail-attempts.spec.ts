import { draft, type DomainError } from '@starminer/domain';
import { COMMANDS, EXAMPLE_EVENT_DATA, LIMITS } from '@starminer/events';
import { appendDrafts, countEvents, startService, startTestInfra, type ServiceUnderTest, type TestInfra } from '@starminer/service-testing';
import { ContractsProjection } from '../ledger/contracts.projection';
import { SettlementModule } from '../settlement.module';
import { contractOnLog, eventsOf } from '../testing/settlement-fixture';
import { NODE_OFFLINE } from './fail-attempts.consumer';

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

/** Polls the subject until `n` events of it are on the log (the consumer acts on its own time). */
async function eventsWhen(subject: string, ok: (types: string[]) => boolean, timeoutMs = 15_000): Promise<string[]> {
  const end = Date.now() + timeoutMs;
  let types: string[] = [];
  while (Date.now() < end) {
    types = (await eventsOf(infra, subject)).map((e) => e.type);
    if (ok(types)) return types;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${subject}: ${types.join(', ')}`);
}

const registerNode = (nodeId: string, nodeAddress: string) => appendDrafts(infra.log, 'node', nodeId, [draft('NodeRegistered', { ...EXAMPLE_EVENT_DATA.NodeRegistered, nodeId, nodeAddress })]);
const offline = (nodeId: string) => appendDrafts(infra.log, 'node', nodeId, [draft('NodeAvailabilityChanged', { nodeId, online: false, reason: 'no heartbeat for 30000 ms' })]);

describe('fail-attempts: a node marked offline', () => {
  it("fails the attempt of each open or running contract of the node's key, once, and no other node's", async () => {
    await registerNode('node-fa1', NODE_KEY);
    await contractOnLog(infra, 'job-fa1', NODE_KEY);
    await contractOnLog(infra, 'job-fa2', NODE_KEY.toUpperCase().replace('0X', '0x'));
    const seq = await contractOnLog(infra, 'job-fa3', OTHER_KEY);
    await settlement.bus.send(COMMANDS.settlement.startJob, { jobId: 'job-fa2', nodeId: 'node-fa1', nodeAddress: NODE_KEY });
    // the node goes offline long after its contracts opened: the read model has them
    await settlement.app.get(ContractsProjection).waitUntil(seq);
    await offline('node-fa1');
    expect(await eventsWhen('trade.contract.job-fa1', (t) => t.includes('ContractAttemptFailed'))).toEqual(['ContractOpened', 'ContractAttemptFailed']);
    expect(await eventsWhen('trade.contract.job-fa2', (t) => t.includes('ContractAttemptFailed'))).toEqual(['ContractOpened', 'JobStarted', 'ContractAttemptFailed']);
    const [, failed] = await eventsOf(infra, 'trade.contract.job-fa1');
    expect(failed).toMatchObject({ actor: 'service:settlement', data: { jobId: 'job-fa1', attempt: 1, nodeId: 'node-fa1', code: NODE_OFFLINE, exhausted: false, slash: 'not-slashed-no-rule' } });
    // the node's going offline read again (a second report) fails nothing twice; another node's contract is untouched
    await offline('node-fa1');
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await eventsOf(infra, 'trade.contract.job-fa1')).map((e) => e.type)).toEqual(['ContractOpened', 'ContractAttemptFailed']);
    expect((await eventsOf(infra, 'trade.contract.job-fa3')).map((e) => e.type)).toEqual(['ContractOpened']);
  });
});

const giveUp = (jobId: string, nodeAddress: string) => settlement.bus.send(COMMANDS.settlement.giveUpJob, { jobId, nodeId: 'node-gu', nodeAddress, reason: 'the GPU fell off the bus' });
const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as DomainError);

describe('cmd.settlement.giveUpJob', () => {
  it('given a running contract, when its node gives it up, then its attempt fails (GIVEN_UP) and the contract waits for another node', async () => {
    await contractOnLog(infra, 'job-gu1', NODE_KEY);
    await expect(giveUp('job-gu1', NODE_KEY)).resolves.toEqual({ status: 'reassigning' });
    const events = await eventsOf(infra, 'trade.contract.job-gu1');
    expect(events.map((e) => [e.type, e.actor])).toEqual([
      ['ContractOpened', 'test'],
      ['ContractAttemptFailed', 'node:node-gu'],
    ]);
    expect(events[1]!.data).toMatchObject({ code: 'GIVEN_UP', reason: 'node node-gu gave the job up: the GPU fell off the bus', exhausted: false });
    // given up already: nothing more to give up
    expect(await refusal(giveUp('job-gu1', NODE_KEY))).toMatchObject({ code: 'RESULT_ALREADY_FINAL' });
  });

  it('on the last attempt, refunds with the reason', async () => {
    await contractOnLog(infra, 'job-gu2', NODE_KEY);
    // attempts before this one on the log: the contract is on its last attempt
    const moves = Array.from({ length: LIMITS.jobAttemptsMax - 1 }, (_, i) => [
      draft('ContractAttemptFailed', { jobId: 'job-gu2', attempt: i + 1, nodeId: `node-old-${i}`, nodeAddress: NODE_KEY, code: NODE_OFFLINE, reason: 'gone', exhausted: false, slash: 'not-slashed-no-rule' }),
      draft('ContractReassigned', { ...EXAMPLE_EVENT_DATA.ContractReassigned, jobId: 'job-gu2', attempt: i + 2, nodeAddress: NODE_KEY, escrowWei: EXAMPLE_EVENT_DATA.ContractOpened.escrowWei, returnedWei: 0n }),
    ]).flat();
    await appendDrafts(infra.log, 'contract', 'job-gu2', moves);
    await expect(giveUp('job-gu2', NODE_KEY)).resolves.toEqual({ status: 'settling' });
    const last = (await eventsOf(infra, 'trade.contract.job-gu2')).slice(-2);
    expect(last.map((e) => e.type)).toEqual(['ContractAttemptFailed', 'SettlementDecided']);
    expect(last[1]!.data).toMatchObject({ outcome: 'refund', reason: `attempts exhausted (${LIMITS.jobAttemptsMax} of ${LIMITS.jobAttemptsMax}): node node-gu gave the job up: the GPU fell off the bus` });
  });

  it('refuses another node, or no contract, appending nothing', async () => {
    await contractOnLog(infra, 'job-gu3', NODE_KEY);
    const before = await countEvents(infra.log, 'trade.>');
    expect(await refusal(giveUp('job-gu3', OTHER_KEY))).toMatchObject({ code: 'NOT_ASSIGNED_NODE', kind: 'forbidden' });
    expect(await refusal(giveUp('job-gu-none', NODE_KEY))).toMatchObject({ code: 'CONTRACT_NOT_OPEN', kind: 'conflict' });
    expect(await countEvents(infra.log, 'trade.>')).toBe(before);
  });
});
