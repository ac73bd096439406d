import { DomainError } from '@starminer/domain';
import { COMMANDS } from '@starminer/events';
import { ProjectionRunner } from '@starminer/trade-log';
import { appendDrafts, countEvents, eventually, getJson, serviceUnderTest } from '@starminer/service-testing';
import { nodeKey, nodeRegisteredDraft, registration } from '../registration.fixture';
import { RegistryModule } from '../registry.module';
import { NodeRow } from './node-row.entity';
import { NODES_READER } from './nodes.projection';

const under = serviceUnderTest(RegistryModule);

const K = nodeKey('41');
const L = nodeKey('42');
const rows = async () => (await under.service.rt.db.getRepository(NodeRow).find({ order: { nodeId: 'ASC' } })).map((r) => [r.nodeId, r.nodeAddress]);

describe(`the nodes read model (${NODES_READER})`, () => {
  it('given a history in which one key registered two node ids, then the second is parked, the nodes after it are listed, and the under.service stays ready', async () => {
    // node A with key K, and (past the under.service, as an older version let it) node B with the same key K
    await appendDrafts(under.infra.log, 'node', 'node-A', [nodeRegisteredDraft('node-A', K)]);
    const [bSeq] = await appendDrafts(under.infra.log, 'node', 'node-B', [nodeRegisteredDraft('node-B', K)]);
    // node C with key L, through the registry: it answers once C is in the read model, so past B
    await expect(under.service.bus.send(COMMANDS.registry.registerNode, { nodeAddress: L, registration: registration('node-C') })).resolves.toEqual({ nodeId: 'node-C' });

    expect(await rows()).toEqual([
      ['node-A', K],
      ['node-C', L],
    ]);
    const { parked } = await under.service.bus.send(COMMANDS.registry.listParked, {});
    expect(parked).toEqual([
      expect.objectContaining({ reader: NODES_READER, seq: bSeq, type: 'NodeRegistered', key: 'node-B', blockedBy: null, error: expect.stringMatching(/duplicate key value violates unique constraint/) }),
    ]);

    // not critical: the under.service is ready, and readiness' detail says what is parked
    const ready = await getJson(`${under.service.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body.details.readers[NODES_READER]).toMatchObject({ state: 'running', parked: 1, critical: false });
    expect((await getJson(`${under.service.url}/metrics`)).body).toMatch(/starminer_parked_events\{[^}]*reader="nodes"[^}]*\} 1/);
  });

  it('given that history, when a further node id registers with key K, then NODE_KEY_IN_USE (the read model knows the key is node A\'s) and nothing appended', async () => {
    const before = await countEvents(under.infra.log, 'trade.>');
    const err = await under.service.bus.send(COMMANDS.registry.registerNode, { nodeAddress: K, registration: registration('node-D') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ code: 'NODE_KEY_IN_USE', details: { nodeId: 'node-A' } });
    expect(await countEvents(under.infra.log, 'trade.>')).toBe(before);
  });

  it('given the parked registration, when the operator retries it unchanged, then it stays parked with its error', async () => {
    const retried = await under.service.bus.send(COMMANDS.registry.retryParked, { reader: NODES_READER, key: 'node-B' });
    expect(retried).toMatchObject({ applied: 0, stillParked: [expect.objectContaining({ key: 'node-B', error: expect.stringMatching(/unique constraint/) })] });
    expect(await rows()).toEqual([
      ['node-A', K],
      ['node-C', L],
    ]);
  });

  it('given the log replayed from the start (a rebuild), then the same rows and the same event parked again', async () => {
    const runner = under.service.rt.reader(NODES_READER);
    expect(runner).toBeInstanceOf(ProjectionRunner);
    await (runner as ProjectionRunner).rebuild();
    await eventually(async () => (await rows()).length === 2 && (await under.service.rt.parking.counts()).get(NODES_READER) === 1);
    expect(await rows()).toEqual([
      ['node-A', K],
      ['node-C', L],
    ]);
    expect(await under.service.rt.db.getRepository(NodeRow).findOneBy({ nodeId: 'node-C' })).toMatchObject({ online: true });
  });
});
