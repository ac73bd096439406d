import 'reflect-metadata';
import { Injectable, Module, type OnApplicationBootstrap } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { COMMANDS, serviceStatusSchema } from '@starminer/events';
import { createTestDatabase, eventually, startNats, type TestDatabase, type TestNats } from '@starminer/testing';
import { connectTradeLog, type Reader, type ReaderHealth, type TradeLog } from '@starminer/trade-log';
import { createServiceApp, listen } from './boot';
import { CommandBus } from './commands';
import { baseConfigSchema } from './config';
import { ServiceRuntime } from './runtime';
import { ServiceKitModule } from './service-kit.module';

const READER = 'probe-nodes';

/** One projection of node events that applies anything it can decode (what it cannot is parked). */
@Injectable()
class ProbeReader implements OnApplicationBootstrap {
  constructor(private readonly rt: ServiceRuntime) {}
  async onApplicationBootstrap(): Promise<void> {
    await this.rt.projection(READER, [this.rt.filter('node')], async () => undefined).start();
  }
}

/** A reader that gave up (its bounded retries ran out), as the runtime sees one. */
function failedReader(name: string): Reader {
  const health: ReaderHealth = { reader: name, kind: 'consumer', state: 'failed', position: 3, lag: 2, critical: false, lastError: 'the database refused the batch 10 times' };
  return { name, kind: 'consumer', critical: false, health: () => health, stop: async () => undefined, retryParked: async () => ({ applied: 0, stillParked: [] }) };
}

let nats: TestNats;
let db: TestDatabase;
let app: NestExpressApplication;
let url: string;
let bus: CommandBus;
let log: TradeLog;

beforeAll(async () => {
  [nats, db] = await Promise.all([startNats(), createTestDatabase()]);
  @Module({
    imports: [ServiceKitModule.forService({ service: 'registry', config: baseConfigSchema, entities: [], env: { DATABASE_URL: db.url, NATS_URL: nats.url, HTTP_PORT: '0', HTTP_HOST: '127.0.0.1' } })],
    providers: [ProbeReader],
  })
  class StatusTestModule {}
  app = await createServiceApp(StatusTestModule, { logger: ['error'] });
  url = await listen(app);
  bus = new CommandBus({ servers: nats.url, name: 'status-spec' });
  await bus.connect();
  log = await connectTradeLog({ servers: nats.url, name: 'status-spec-writer' });
}, 120_000);

afterAll(async () => {
  await log?.close();
  await bus?.close();
  await app?.close();
  await Promise.all([nats?.stop(), db?.drop()]);
});

const status = () => bus.send(COMMANDS.registry.status, {});
const readyCode = async () => (await fetch(`${url}/health/ready`)).status;

describe('cmd.<service>.status: readiness as GET /health/ready decides it, with each dependency and reader', () => {
  it('given a fresh service, then it is ready with NATS, Postgres and its command bus up, and its reader running at 0 with nothing parked', async () => {
    const s = await status();
    expect(serviceStatusSchema.parse(s)).toEqual(s);
    expect(s).toEqual({
      service: 'registry',
      ready: true,
      checks: { nats: { status: 'up' }, postgres: { status: 'up' }, commands: { status: 'up' } },
      readers: [{ name: READER, kind: 'projection', state: 'running', checkpointSeq: 0, lagEvents: 0, parked: 0, critical: false, problems: [] }],
      startedAt: app.get(ServiceRuntime).startedAt.toISOString(),
    });
    expect(await readyCode()).toBe(200);
  });

  it('given an event its reader cannot decode, then the reader shows it parked at its checkpoint, and the service stays ready (not a reader of money)', async () => {
    const ack = await log.js.publish('trade.node.node-broken', new TextEncoder().encode('{"not": "an event"'));
    await eventually(async () => (await status()).readers[0].parked === 1);
    const s = await status();
    expect(s.readers).toEqual([{ name: READER, kind: 'projection', state: 'running', checkpointSeq: ack.seq, lagEvents: 0, parked: 1, critical: false, problems: [] }]);
    expect(s.ready).toBe(true);
    expect(await readyCode()).toBe(200);
    // the same event the operator lists
    expect((await bus.send(COMMANDS.registry.listParked, {})).parked).toEqual([expect.objectContaining({ reader: READER, seq: ack.seq })]);
  });

  it('given a reader that gave up, then it shows failed with its error, and the service is not ready, as /health/ready says (503)', async () => {
    app.get(ServiceRuntime).register(failedReader('settle-outcomes'));
    const s = await status();
    expect(s.ready).toBe(false);
    expect(s.readers).toContainEqual({
      name: 'settle-outcomes',
      kind: 'consumer',
      state: 'failed',
      checkpointSeq: 3,
      lagEvents: 2,
      parked: 0,
      critical: false,
      problems: ['failed'],
      lastError: 'the database refused the batch 10 times',
    });
    expect(s.checks).toEqual({ nats: { status: 'up' }, postgres: { status: 'up' }, commands: { status: 'up' } });
    expect(await readyCode()).toBe(503);
    expect((await fetch(`${url}/health/live`)).status).toBe(503);
  });
});
