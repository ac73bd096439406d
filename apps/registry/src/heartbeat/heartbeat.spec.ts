import { connect } from '@nats-io/transport-node';
import { DomainError } from '@starminer/domain';
import { COMMANDS, type TradeEvent } from '@starminer/events';
import { appendDrafts, countEvents, eventually, serviceUnderTest } from '@starminer/service-testing';
import { NodeLiveness } from '../liveness/node-liveness.entity';
import { NodeRow } from '../nodes/node-row.entity';
import { nodeKey, registration } from '../registration.fixture';
import { RegistryModule } from '../registry.module';

const under = serviceUnderTest(RegistryModule);

const register = (nodeId: string, nodeAddress: string) => under.service.bus.send(COMMANDS.registry.registerNode, { nodeAddress, registration: registration(nodeId) });
const heartbeat = (nodeId: string, nodeAddress: string) => under.service.bus.send(COMMANDS.registry.heartbeat, { nodeId, nodeAddress });
const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as DomainError);
const lastSeen = async (nodeId: string) => (await under.service.rt.db.getRepository(NodeLiveness).findOneBy({ nodeId }))?.lastSeenAt.getTime();
const availability = async (nodeId: string) =>
  (await under.infra.log.readSubject<TradeEvent>(`trade.node.${nodeId}`)).events.flatMap((e) => (e.event.type === 'NodeAvailabilityChanged' ? [e.event.data] : []));

describe('cmd.registry.heartbeat', () => {
  it('given a node that was marked offline, when it heartbeats twice, then it comes online once, and the read model follows', async () => {
    const key = nodeKey('11');
    await register('node-h1', key);
    await appendDrafts(under.infra.log, 'node', 'node-h1', [{ type: 'NodeAvailabilityChanged', data: { nodeId: 'node-h1', online: false, reason: 'no heartbeat for 30000 ms' } }]);
    const seenBefore = await lastSeen('node-h1');

    await expect(heartbeat('node-h1', key)).resolves.toEqual({ ok: true });
    await expect(heartbeat('node-h1', `0x${key.slice(2).toUpperCase()}`)).resolves.toEqual({ ok: true }); // the same key, another case

    expect((await availability('node-h1')).map((d) => [d.online, d.reason])).toEqual([
      [true, 'registered'],
      [false, 'no heartbeat for 30000 ms'],
      [true, 'heartbeat'],
    ]);
    expect(await lastSeen('node-h1')).toBeGreaterThanOrEqual(seenBefore!);
    await eventually(async () => (await under.service.rt.db.getRepository(NodeRow).findOneBy({ nodeId: 'node-h1' }))?.online === true);
  });

  it('given a node online, when it heartbeats, then only its liveness moves (nothing appended)', async () => {
    await register('node-h2', nodeKey('12'));
    const before = await countEvents(under.infra.log, 'trade.>');
    const seenBefore = await lastSeen('node-h2');
    await new Promise((r) => setTimeout(r, 20));
    await expect(heartbeat('node-h2', nodeKey('12'))).resolves.toEqual({ ok: true });
    expect(await countEvents(under.infra.log, 'trade.>')).toBe(before);
    expect(await lastSeen('node-h2')).toBeGreaterThan(seenBefore!);
  });

  it('given a heartbeat signed by another key than the node key, then NOT_NODE_KEY, nothing appended, and its liveness untouched', async () => {
    await register('node-h3', nodeKey('13'));
    await appendDrafts(under.infra.log, 'node', 'node-h3', [{ type: 'NodeAvailabilityChanged', data: { nodeId: 'node-h3', online: false, reason: 'silent' } }]);
    const before = await countEvents(under.infra.log, 'trade.>');
    const seenBefore = await lastSeen('node-h3');
    const err = await refusal(heartbeat('node-h3', nodeKey('99')));
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ code: 'NOT_NODE_KEY', kind: 'forbidden' });
    expect(await countEvents(under.infra.log, 'trade.>')).toBe(before);
    expect(await lastSeen('node-h3')).toBe(seenBefore);
  });

  it('given a node id nobody registered, then NODE_NOT_FOUND and nothing appended', async () => {
    const before = await countEvents(under.infra.log, 'trade.>');
    expect(await refusal(heartbeat('node-nobody', nodeKey('14')))).toMatchObject({ code: 'NODE_NOT_FOUND', kind: 'not-found' });
    expect(await countEvents(under.infra.log, 'trade.>')).toBe(before);
    expect(await lastSeen('node-nobody')).toBeUndefined();
  });

  it.each([
    ['a node id that is not a subject token', { nodeId: 'node.h1', nodeAddress: nodeKey('11') }, 'nodeId'],
    ['a key that is not an address', { nodeId: 'node-h1', nodeAddress: '0x1234' }, 'nodeAddress'],
    ['an unknown field', { nodeId: 'node-h1', nodeAddress: nodeKey('11'), online: true }, '(root)'],
  ])('given a payload with %s, then COMMAND_INVALID names the field', async (_what, wire, field) => {
    const nc = await connect({ servers: under.infra.nats.url });
    try {
      const reply = JSON.parse((await nc.request(COMMANDS.registry.heartbeat.subject, JSON.stringify(wire), { timeout: 5_000 })).string());
      expect(reply.err).toMatchObject({ code: 'COMMAND_INVALID', kind: 'invalid' });
      expect(reply.err.details.violations.map((v: { field: string }) => v.field)).toContain(field);
    } finally {
      await nc.close();
    }
  });
});
