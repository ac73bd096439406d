import { COMMANDS, type TradeEvent } from '@starminer/events';
import { eventually, startService, startTestInfra, type ServiceUnderTest, type TestInfra } from '@starminer/service-testing';
import { NodeRow } from '../nodes/node-row.entity';
import { nodeKey, registration } from '../registration.fixture';
import { RegistryModule } from '../registry.module';
import { LivenessScanner, livenessScanIntervalMs } from './liveness.scanner';

// long enough that a heartbeat every TIMEOUT_MS / 4 keeps a node online on a loaded 2-core CI machine
const TIMEOUT_MS = 2_000;
let infra: TestInfra;
let registry: ServiceUnderTest;

beforeAll(async () => {
  infra = await startTestInfra();
  registry = await startService(RegistryModule, infra, { REGISTRY_NODE_TIMEOUT_MS: String(TIMEOUT_MS) });
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  await infra?.stop();
});

const register = (nodeId: string, nodeAddress: string) => registry.bus.send(COMMANDS.registry.registerNode, { nodeAddress, registration: registration(nodeId) });
const heartbeat = (nodeId: string, nodeAddress: string) => registry.bus.send(COMMANDS.registry.heartbeat, { nodeId, nodeAddress });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const availability = async (nodeId: string) =>
  (await infra.log.readSubject<TradeEvent>(`trade.node.${nodeId}`)).events.flatMap((e) => (e.event.type === 'NodeAvailabilityChanged' ? [{ ...e.event.data, at: Date.parse(e.event.occurredAt) }] : []));

describe('the liveness scan (REGISTRY_NODE_TIMEOUT_MS)', () => {
  it('scans twice per timeout', () => {
    expect(livenessScanIntervalMs(TIMEOUT_MS)).toBe(1_000);
    expect(livenessScanIntervalMs(30_000)).toBe(5_000);
  });

  it('given a node silent past the configured timeout, then it is marked offline once, not before the timeout, with the timeout as its reason', async () => {
    await register('node-l1', nodeKey('21'));
    await eventually(async () => (await availability('node-l1')).some((d) => !d.online), 10_000);
    const [registered, offline] = await availability('node-l1');
    expect(offline).toMatchObject({ online: false, reason: `no heartbeat for ${TIMEOUT_MS} ms` });
    expect(offline.at - registered.at).toBeGreaterThanOrEqual(TIMEOUT_MS);
    // further rounds (of this replica, and a round run by hand as another replica would) add nothing
    await sleep(3 * livenessScanIntervalMs(TIMEOUT_MS));
    await registry.app.get(LivenessScanner).scan(new Date(Date.now() + 10 * TIMEOUT_MS));
    expect((await availability('node-l1')).map((d) => d.online)).toEqual([true, false]);
    await eventually(async () => (await registry.rt.db.getRepository(NodeRow).findOneBy({ nodeId: 'node-l1' }))?.online === false);
  });

  it('given a node that heartbeats within the timeout, then it stays online past several timeouts', async () => {
    await register('node-l2', nodeKey('22'));
    const until = Date.now() + 3 * TIMEOUT_MS;
    while (Date.now() < until) {
      await heartbeat('node-l2', nodeKey('22'));
      await sleep(TIMEOUT_MS / 4);
    }
    expect((await availability('node-l2')).map((d) => d.online)).toEqual([true]);
  });

  it('given a node marked offline, when it heartbeats again, then it comes back online', async () => {
    await register('node-l3', nodeKey('23'));
    await eventually(async () => (await availability('node-l3')).some((d) => !d.online), 5_000);
    await heartbeat('node-l3', nodeKey('23'));
    expect((await availability('node-l3')).map((d) => [d.online, d.reason])).toEqual([
      [true, 'registered'],
      [false, `no heartbeat for ${TIMEOUT_MS} ms`],
      [true, 'heartbeat'],
    ]);
  });
});
