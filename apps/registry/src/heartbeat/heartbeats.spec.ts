import { connect } from '@nats-io/transport-node';
import { COMMANDS, LIMITS, type TradeEvent } from '@starminer/events';
import { appendDrafts, countEvents, eventually, serviceUnderTest } from '@starminer/service-testing';
import { NodeLiveness } from '../liveness/node-liveness.entity';
import { NodeRow } from '../nodes/node-row.entity';
import { nodeKey, registration } from '../registration.fixture';
import { RegistryModule } from '../registry.module';

const under = serviceUnderTest(RegistryModule);

const register = (nodeId: string, nodeAddress: string) => under.service.bus.send(COMMANDS.registry.registerNode, { nodeAddress, registration: registration(nodeId) });
const heartbeats = (beats: { nodeId: string; nodeAddress: string }[]) => under.service.bus.send(COMMANDS.registry.heartbeats, { beats });
const lastSeen = async (nodeId: string) => (await under.service.rt.db.getRepository(NodeLiveness).findOneBy({ nodeId }))?.lastSeenAt.getTime();
const onlineInReadModel = async (nodeId: string) => (await under.service.rt.db.getRepository(NodeRow).findOneBy({ nodeId }))?.online;
const availability = async (nodeId: string) =>
  (await under.infra.log.readSubject<TradeEvent>(`trade.node.${nodeId}`)).events.flatMap((e) => (e.event.type === 'NodeAvailabilityChanged' ? [e.event.data] : []));

/** Registers the node and waits until the read model holds it online (the batch's fast path). */
async function online(nodeId: string, key: string): Promise<void> {
  await register(nodeId, key);
  await eventually(async () => (await onlineInReadModel(nodeId)) === true);
}

/** The statements the command sends to Postgres by `db.query` that write node_liveness (the batch's upsert goes that way; the single path's does not). */
function livenessWrites(): { count: () => number; restore: () => void } {
  const spy = jest.spyOn(under.service.rt.db, 'query');
  return {
    count: () => spy.mock.calls.filter(([sql]) => /insert into[^(]*node_liveness/i.test(String(sql))).length,
    restore: () => spy.mockRestore(),
  };
}

describe('cmd.registry.heartbeats', () => {
  it('given nodes online in the read model, when they beat in one command, then each is ok, in order, their liveness moves in one statement, and nothing is appended', async () => {
    const nodes = [['node-b1', nodeKey('51')], ['node-b2', nodeKey('52')], ['node-b3', nodeKey('53')]] as const;
    for (const [id, key] of nodes) await online(id, key);
    const seenBefore = await Promise.all(nodes.map(([id]) => lastSeen(id)));
    const before = await countEvents(under.infra.log, 'trade.>');
    await new Promise((r) => setTimeout(r, 20));

    const writes = livenessWrites();
    try {
      const reply = await heartbeats(nodes.map(([nodeId, key], i) => ({ nodeId, nodeAddress: i === 1 ? key.toUpperCase().replace('0X', '0x') : key })));
      expect(reply).toEqual({ results: nodes.map(([nodeId]) => ({ nodeId, ok: true })) });
      expect(writes.count()).toBe(1);
    } finally {
      writes.restore();
    }
    const seenAfter = await Promise.all(nodes.map(([id]) => lastSeen(id)));
    seenAfter.forEach((t, i) => expect(t).toBeGreaterThan(seenBefore[i]!));
    expect(new Set(seenAfter).size).toBe(1);
    expect(await countEvents(under.infra.log, 'trade.>')).toBe(before);
  });

  it('given one beat signed by another key than its node key, then NOT_NODE_KEY for that beat only, and its liveness untouched', async () => {
    await online('node-b4', nodeKey('54'));
    await online('node-b5', nodeKey('55'));
    const seenBefore = [await lastSeen('node-b4'), await lastSeen('node-b5')];
    await new Promise((r) => setTimeout(r, 20));

    await expect(heartbeats([{ nodeId: 'node-b4', nodeAddress: nodeKey('99') }, { nodeId: 'node-b5', nodeAddress: nodeKey('55') }])).resolves.toEqual({
      results: [{ nodeId: 'node-b4', ok: false, code: 'NOT_NODE_KEY' }, { nodeId: 'node-b5', ok: true }],
    });
    expect(await lastSeen('node-b4')).toBe(seenBefore[0]);
    expect(await lastSeen('node-b5')).toBeGreaterThan(seenBefore[1]!);
  });

  it('given a node id nobody registered among others, then NODE_NOT_FOUND for that beat only, nothing kept of it and nothing appended', async () => {
    await online('node-b6', nodeKey('56'));
    const before = await countEvents(under.infra.log, 'trade.>');
    await expect(heartbeats([{ nodeId: 'node-b6', nodeAddress: nodeKey('56') }, { nodeId: 'node-nobody', nodeAddress: nodeKey('57') }])).resolves.toEqual({
      results: [{ nodeId: 'node-b6', ok: true }, { nodeId: 'node-nobody', ok: false, code: 'NODE_NOT_FOUND' }],
    });
    expect(await lastSeen('node-nobody')).toBeUndefined();
    expect(await countEvents(under.infra.log, 'trade.>')).toBe(before);
  });

  it('given a node marked offline, when it beats in a batch, then it comes back online on the log once (its Heartbeat), and the read model follows', async () => {
    await online('node-b7', nodeKey('58'));
    await appendDrafts(under.infra.log, 'node', 'node-b7', [{ type: 'NodeAvailabilityChanged', data: { nodeId: 'node-b7', online: false, reason: 'no heartbeat for 30000 ms' } }]);
    await eventually(async () => (await onlineInReadModel('node-b7')) === false);
    const seenBefore = await lastSeen('node-b7');
    await new Promise((r) => setTimeout(r, 20));

    await expect(heartbeats([{ nodeId: 'node-b7', nodeAddress: nodeKey('58') }])).resolves.toEqual({ results: [{ nodeId: 'node-b7', ok: true }] });
    expect((await availability('node-b7')).map((d) => [d.online, d.reason])).toEqual([
      [true, 'registered'],
      [false, 'no heartbeat for 30000 ms'],
      [true, 'heartbeat'],
    ]);
    expect(await lastSeen('node-b7')).toBeGreaterThan(seenBefore!);
    await eventually(async () => (await onlineInReadModel('node-b7')) === true);
  });

  it('given a node the read model does not hold yet (registered a moment ago), then its beat counts through the log, and nothing is appended for it online', async () => {
    await online('node-b8', nodeKey('5a'));
    // the read model a moment behind the registration: the row not there yet
    await under.service.rt.db.getRepository(NodeRow).delete({ nodeId: 'node-b8' });
    const events = await countEvents(under.infra.log, 'trade.>');
    const seenBefore = await lastSeen('node-b8');
    await new Promise((r) => setTimeout(r, 20));

    await expect(heartbeats([{ nodeId: 'node-b8', nodeAddress: nodeKey('5a') }])).resolves.toEqual({ results: [{ nodeId: 'node-b8', ok: true }] });
    expect(await lastSeen('node-b8')).toBeGreaterThan(seenBefore!);
    expect(await countEvents(under.infra.log, 'trade.>')).toBe(events);
  });

  it.each([
    ['more beats than LIMITS.heartbeatsPerCommandMax', { beats: Array.from({ length: LIMITS.heartbeatsPerCommandMax + 1 }, (_, i) => ({ nodeId: `node-${i}`, nodeAddress: nodeKey('51') })) }, 'beats'],
    ['no beats', { beats: [] }, 'beats'],
    ['telemetry (it travels on the single heartbeat only)', { beats: [{ nodeId: 'node-b1', nodeAddress: nodeKey('51'), telemetry: { sampledAt: new Date().toISOString(), gpus: [] } }] }, 'beats[0]'],
  ])('given a payload with %s, then COMMAND_INVALID names the field', async (_what, wire, field) => {
    const nc = await connect({ servers: under.infra.nats.url });
    try {
      const reply = JSON.parse((await nc.request(COMMANDS.registry.heartbeats.subject, JSON.stringify(wire), { timeout: 5_000 })).string());
      expect(reply.err).toMatchObject({ code: 'COMMAND_INVALID', kind: 'invalid' });
      expect(reply.err.details.violations.map((v: { field: string }) => v.field)).toContain(field);
    } finally {
      await nc.close();
    }
  });
});
