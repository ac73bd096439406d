import { connect } from '@nats-io/transport-node';
import { DomainError } from '@starminer/domain';
import { COMMANDS, toJson } from '@starminer/events';
import { appendDrafts, countEvents, serviceUnderTest } from '@starminer/service-testing';
import { NodeRow } from '../nodes/node-row.entity';
import { nodeKey, registration, type Registration } from '../registration.fixture';
import { RegistryModule } from '../registry.module';

const under = serviceUnderTest(RegistryModule);

const register = (nodeAddress: string, r: Registration) => under.service.bus.send(COMMANDS.registry.registerNode, { nodeAddress, registration: r });
const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as DomainError);
const types = async (subject: string) => (await under.infra.log.readSubject(subject)).events.map((e) => e.event.type);

describe('cmd.registry.registerNode', () => {
  it('given a new node and a free key, when it registers, then the key is bound, NodeRegistered and NodeAvailabilityChanged online are on the log, and the node is listed online', async () => {
    const key = `0x${'aB'.repeat(20)}`; // mixed case: the key's aggregate is the address in lower case
    expect(await register(key, registration('node-r1'))).toEqual({ nodeId: 'node-r1' });

    const node = (await under.infra.log.readSubject('trade.node.node-r1')).events;
    expect(node.map((e) => e.event.type)).toEqual(['NodeRegistered', 'NodeAvailabilityChanged']);
    expect(node[0].event).toMatchObject({ actor: 'node:node-r1', data: { nodeId: 'node-r1', nodeAddress: key, gpuModel: 'H100', reputation: 0.5, stakeWei: 0n } });
    expect(node[1].event.data).toEqual({ nodeId: 'node-r1', online: true, reason: 'registered' });

    const bound = (await under.infra.log.readSubject(`trade.nodekey.${key.toLowerCase()}`)).events;
    expect(bound.map((e) => [e.event.type, e.event.data])).toEqual([['NodeKeyBound', { nodeAddress: key.toLowerCase(), nodeId: 'node-r1' }]]);
    expect(bound[0].seq).toBeLessThan(node[0].seq); // bound before the node is registered

    // the answer came once the read model lists it
    expect(await under.service.rt.db.getRepository(NodeRow).findOneBy({ nodeId: 'node-r1' })).toMatchObject({ nodeAddress: key.toLowerCase(), online: true, reputation: 0.5 });
  });

  it('given a registered node, when the agent retries with the same key (in any case), then the same answer and nothing appended', async () => {
    const key = nodeKey('a2');
    await register(key, registration('node-r2'));
    const before = await countEvents(under.infra.log, 'trade.>');
    await expect(register(key, registration('node-r2'))).resolves.toEqual({ nodeId: 'node-r2' });
    await expect(register(`0x${key.slice(2).toUpperCase()}`, registration('node-r2'))).resolves.toEqual({ nodeId: 'node-r2' });
    expect(await countEvents(under.infra.log, 'trade.>')).toBe(before);
  });

  it('given a node id registered with another key, then NODE_EXISTS, and the new key is not bound', async () => {
    await register(nodeKey('a3'), registration('node-r3'));
    const before = await countEvents(under.infra.log, 'trade.>');
    const err = await refusal(register(nodeKey('b3'), registration('node-r3')));
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ code: 'NODE_EXISTS', kind: 'conflict' });
    expect(await countEvents(under.infra.log, 'trade.>')).toBe(before);
    expect(await countEvents(under.infra.log, `trade.nodekey.${nodeKey('b3')}`)).toBe(0);
  });

  it('given a key registered to a node, when a second node id registers with it, then NODE_KEY_IN_USE and nothing appended to trade.node.>', async () => {
    await register(nodeKey('a4'), registration('node-r4'));
    const nodesBefore = await countEvents(under.infra.log, 'trade.node.>');
    const allBefore = await countEvents(under.infra.log, 'trade.>');
    const err = await refusal(register(nodeKey('a4'), registration('node-r4-second')));
    expect(err).toMatchObject({ code: 'NODE_KEY_IN_USE', kind: 'conflict', details: { nodeId: 'node-r4' } });
    expect(await countEvents(under.infra.log, 'trade.node.>')).toBe(nodesBefore);
    expect(await countEvents(under.infra.log, 'trade.>')).toBe(allBefore);
    expect(await types(`trade.nodekey.${nodeKey('a4')}`)).toEqual(['NodeKeyBound']);
  });

  it('given a key another replica has just bound (its node not yet registered), when another node id registers with it, then the key aggregate refuses NODE_KEY_IN_USE', async () => {
    const key = nodeKey('a5');
    await appendDrafts(under.infra.log, 'nodekey', key, [{ type: 'NodeKeyBound', data: { nodeAddress: key, nodeId: 'node-elsewhere' } }]);
    const before = await countEvents(under.infra.log, 'trade.>');
    const err = await refusal(register(key, registration('node-r5')));
    expect(err).toMatchObject({ code: 'NODE_KEY_IN_USE', kind: 'conflict', details: { nodeId: 'node-elsewhere' } });
    expect(await countEvents(under.infra.log, 'trade.>')).toBe(before);
    expect(await countEvents(under.infra.log, 'trade.node.node-r5')).toBe(0);
  });

  it.each([
    ['an unknown GPU model', { gpuModel: 'H900' }, 'UNKNOWN_GPU_MODEL', 'invalid'],
    ['more VRAM than the model has', { vramGiB: 200 }, 'VRAM_IMPLAUSIBLE', 'invalid'],
    ['no measured benchmark', { benchmark: { kind: 'hash-chain-sha256', score: 0, measuredAt: '2026-11-24T12:00:00.000Z' } }, 'BENCHMARK_REQUIRED', 'invalid'],
  ])('given %s, then the market refuses it by code and binds no key', async (_what, over, code, kind) => {
    const before = await countEvents(under.infra.log, 'trade.>');
    const err = await refusal(register(nodeKey('c6'), registration('node-r6', over as Partial<Registration>)));
    expect(err).toMatchObject({ code });
    expect(err?.kind).toBe(kind);
    expect(await countEvents(under.infra.log, 'trade.>')).toBe(before);
  });

  it.each([
    ['poolId: null', { poolId: null }, 'registration.poolId'],
    ['a GPU count past the limit', { gpuCount: 17 }, 'registration.gpuCount'],
    ['a NUL in the region', { region: 'eu\u0000west' }, 'registration.region'],
    ['an unknown field', { colour: 'blue' }, 'registration'],
    ['a negative stake', { stakeWei: '-1' }, 'registration.stakeWei'],
  ])('given a payload with %s, then COMMAND_INVALID names the field, and nothing is appended', async (_what, over, field) => {
    const before = await countEvents(under.infra.log, 'trade.>');
    const wire = { nodeAddress: nodeKey('d7'), registration: { ...JSON.parse(toJson(registration('node-r7'))), ...over } };
    // sent raw, as any NATS client could: the handler's own parse is what refuses it
    const nc = await connect({ servers: under.infra.nats.url });
    try {
      const reply = JSON.parse((await nc.request(COMMANDS.registry.registerNode.subject, JSON.stringify(wire), { timeout: 5_000 })).string());
      expect(reply.err).toMatchObject({ code: 'COMMAND_INVALID', kind: 'invalid' });
      const violations: { field: string; message: string }[] = reply.err.details.violations;
      expect(violations.map((v) => v.field)).toContain(field);
      if (field === 'registration') expect(violations.find((v) => v.field === field)?.message).toMatch(/unknown field colour/);
    } finally {
      await nc.close();
    }
    expect(await countEvents(under.infra.log, 'trade.>')).toBe(before);
  });

  it('given a body that is not JSON on the command subject, then a typed COMMAND_INVALID reply, and the under.service goes on', async () => {
    const nc = await connect({ servers: under.infra.nats.url });
    try {
      const reply = JSON.parse((await nc.request(COMMANDS.registry.registerNode.subject, 'not json {', { timeout: 5_000 })).string());
      expect(reply.err).toMatchObject({ code: 'COMMAND_INVALID', kind: 'invalid' });
    } finally {
      await nc.close();
    }
    await expect(register(nodeKey('e8'), registration('node-r8'))).resolves.toEqual({ nodeId: 'node-r8' });
  });

  it('given five registered A100s of one benchmark kind, when a sixth claims three times their median, then it is registered as an outlier at half the starting reputation; one near the median is not (issue 17)', async () => {
    const bench = (score: number) => ({ benchmark: { kind: 'gpu-matmul-tflops-bf16', score, measuredAt: '2026-11-27T00:00:00.000Z' }, gpuModel: 'A100' as const, vramGiB: 80 });
    const peers = [290, 300, 310, 305, 295];
    for (const [i, score] of peers.entries()) {
      const first = (await register(nodeKey(`c${i}`), registration(`node-a100-${i}`, bench(score))).then(() => under.infra.log.readSubject(`trade.node.node-a100-${i}`))).events[0].event;
      if (i === 0) expect(first.data).not.toHaveProperty('benchmarkCheck'); // no peers yet to compare with
    }
    await register(nodeKey('c8'), registration('node-a100-liar', bench(900)));
    const liar = (await under.infra.log.readSubject('trade.node.node-a100-liar')).events[0].event;
    expect(liar.data).toMatchObject({ reputation: 0.25, benchmarkCheck: { medianScore: 300, peers: 5, ratio: 3, outlier: true } });
    expect(await under.service.rt.db.getRepository(NodeRow).findOneBy({ nodeId: 'node-a100-liar' })).toMatchObject({ reputation: 0.25, benchmarkKind: 'gpu-matmul-tflops-bf16' });

    await register(nodeKey('c9'), registration('node-a100-honest', bench(302)));
    const honest = (await under.infra.log.readSubject('trade.node.node-a100-honest')).events[0].event;
    expect(honest.data).toMatchObject({ reputation: 0.5, benchmarkCheck: { peers: 6, outlier: false } }); // the outlier counts among the peers: a median resists it
  });

  it('refuses a registration that states its own benchmark check: the market makes it', async () => {
    const forged = { ...registration('node-forged'), benchmarkCheck: { medianScore: 1, peers: 9, ratio: 1, outlier: false } };
    await expect(register(nodeKey('d9'), forged as Registration)).rejects.toMatchObject({ code: 'COMMAND_INVALID' });
  });
});
