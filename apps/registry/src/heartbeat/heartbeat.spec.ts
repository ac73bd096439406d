import { connect } from '@nats-io/transport-node';
import { DomainError } from '@starminer/domain';
import { COMMANDS, LIMITS, type TradeEvent } from '@starminer/events';
import { appendDrafts, countEvents, eventually, serviceUnderTest } from '@starminer/service-testing';
import { NodeLiveness } from '../liveness/node-liveness.entity';
import { NodeRow } from '../nodes/node-row.entity';
import { nodeKey, registration } from '../registration.fixture';
import { RegistryModule } from '../registry.module';

const under = serviceUnderTest(RegistryModule);

const register = (nodeId: string, nodeAddress: string, over: Parameters<typeof registration>[1] = {}) =>
  under.service.bus.send(COMMANDS.registry.registerNode, { nodeAddress, registration: registration(nodeId, over) });
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

const gpu = (index: number, utilizationPct: number) => ({ index, utilizationPct, memoryUsedMiB: 1011, powerDrawW: 692.5, powerLimitW: 700, temperatureC: 55 });
const sample = (second: number, gpus = [gpu(0, second)]) => ({ sampledAt: new Date(Date.UTC(2026, 10, 27, 17, 0, second)).toISOString(), gpus });
const beatWith = (nodeId: string, nodeAddress: string, telemetry: ReturnType<typeof sample>) => under.service.bus.send(COMMANDS.registry.heartbeat, { nodeId, nodeAddress, telemetry });
const telemetryOf = (nodeId: string) => under.service.bus.send(COMMANDS.registry.nodeTelemetry, { nodeId });

describe('heartbeat telemetry', () => {
  it('given heartbeats with GPU telemetry, then the registry keeps the latest and at most LIMITS.telemetryHistoryMax, newest first, and appends nothing', async () => {
    const key = nodeKey('21');
    await register('node-t1', key); // 8 GPUs
    const before = await countEvents(under.infra.log, 'trade.>');
    const beats = LIMITS.telemetryHistoryMax + 3;
    for (let i = 0; i < beats; i += 1) await beatWith('node-t1', key, sample(i % 60, [gpu(0, i % 101), gpu(7, 0)]));

    const t = await telemetryOf('node-t1');
    expect(t.history).toHaveLength(LIMITS.telemetryHistoryMax);
    expect(t.latest).toEqual(t.history[0]);
    expect(t.latest!.gpus).toEqual([gpu(0, (beats - 1) % 101), gpu(7, 0)]);
    expect(t.history.at(-1)!.gpus[0].utilizationPct).toBe(3); // the three oldest were dropped
    expect(await countEvents(under.infra.log, 'trade.>')).toBe(before);
  });

  it('given a node that never sent telemetry (a CPU-only agent), then none is kept and the answer says so', async () => {
    await register('node-t2', nodeKey('22'));
    await expect(heartbeat('node-t2', nodeKey('22'))).resolves.toEqual({ ok: true });
    await expect(telemetryOf('node-t2')).resolves.toEqual({ latest: null, history: [] });
  });

  it('given telemetry naming more GPUs than the node registered, then TELEMETRY_INVALID, nothing kept and the beat not counted', async () => {
    await register('node-t3', nodeKey('23'), { gpuCount: 1 });
    const seenBefore = await lastSeen('node-t3');
    expect(await refusal(beatWith('node-t3', nodeKey('23'), sample(1, [gpu(0, 10), gpu(1, 10)])))).toMatchObject({ code: 'TELEMETRY_INVALID', kind: 'invalid', details: { limit: 1 } });
    expect(await refusal(beatWith('node-t3', nodeKey('23'), sample(1, [gpu(3, 10)])))).toMatchObject({ code: 'TELEMETRY_INVALID' });
    await expect(telemetryOf('node-t3')).resolves.toEqual({ latest: null, history: [] });
    expect(await lastSeen('node-t3')).toBe(seenBefore);
  });

  it.each([
    ['a utilization above 100 %', { ...gpu(0, 101) }, 'telemetry.gpus[0].utilizationPct'],
    ['a power draw past the limit', { ...gpu(0, 5), powerDrawW: LIMITS.gpuPowerWMax + 1 }, 'telemetry.gpus[0].powerDrawW'],
    ['an unknown field', { ...gpu(0, 5), fanPct: 30 }, 'telemetry.gpus[0]'],
  ])('given telemetry with %s, then COMMAND_INVALID names the field', async (_what, g, field) => {
    const nc = await connect({ servers: under.infra.nats.url });
    try {
      const wire = { nodeId: 'node-t1', nodeAddress: nodeKey('21'), telemetry: { sampledAt: '2026-11-27T17:00:00.000Z', gpus: [g] } };
      const reply = JSON.parse((await nc.request(COMMANDS.registry.heartbeat.subject, JSON.stringify(wire), { timeout: 5_000 })).string());
      expect(reply.err).toMatchObject({ code: 'COMMAND_INVALID', kind: 'invalid' });
      expect(reply.err.details.violations.map((v: { field: string }) => v.field)).toContain(field);
    } finally {
      await nc.close();
    }
  });
});
