import 'reflect-metadata';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { bytesToHex } from 'viem';
import { mnemonicToAccount, type HDAccount } from 'viem/accounts';
import { createChainClients, DEV_MNEMONIC, deployMarket, type AnvilHandle, type MarketAddresses } from '@starminer/chain';
import { CommandBus, createServiceApp, listen, ServiceRuntime } from '@starminer/service-kit';
// from @starminer/testing, not the chain's: STARMINER_TEST_INFRA picks the local binary or a container
import { createTestDatabase, startAnvil, startNats, type TestDatabase, type TestNats } from '@starminer/testing';

export { eventually } from '@starminer/testing';
import { connectTradeLog, type TradeLog } from '@starminer/trade-log';
import { makeEvent, subjectFor, type AggregateKind } from '@starminer/events';
import type { Draft } from '@starminer/domain';
import { uuidv7 } from 'uuidv7';

/**
 * A service under test on real parts: its own nats-server with JetStream, its own database, and
 * where it needs one an anvil chain with the market's contracts deployed. Its handlers are called
 * through a CommandBus exactly as other services call them; its HTTP serves health and metrics.
 */

/** Anvil dev accounts by role, as the stack uses them. */
export const ROLE_INDEX = { admin: 0, deployer: 1, settlement: 2, minter: 3 } as const;
export const devKey = (index: number): `0x${string}` => bytesToHex(mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index }).getHdKey().privateKey!);
export const CUSTODY_MNEMONIC = 'legal winner thank year wave sausage worth useful legal winner thank yellow';
export const OPERATOR_TOKEN = 'operator-token-for-tests-0123456789';

export interface TestChain {
  readonly anvil: AnvilHandle;
  readonly addresses: Required<MarketAddresses>;
  readonly clients: ReturnType<typeof createChainClients>;
  readonly roles: Record<keyof typeof ROLE_INDEX, HDAccount>;
  stop(): Promise<void>;
}

export async function startTestChain(): Promise<TestChain> {
  const anvil = await startAnvil();
  const clients = createChainClients(anvil.rpcUrl, anvil.chainId);
  const roles = Object.fromEntries(Object.entries(ROLE_INDEX).map(([role, i]) => [role, mnemonicToAccount(DEV_MNEMONIC, { addressIndex: i })])) as TestChain['roles'];
  const addresses = await deployMarket(clients.wallet(roles.admin), clients.publicClient, {
    admin: roles.admin.address,
    deployer: roles.deployer.address,
    settlement: roles.settlement.address,
    minter: roles.minter.address,
  });
  return { anvil, addresses, clients, roles, stop: () => anvil.stop() };
}

export interface TestInfra {
  readonly nats: TestNats;
  readonly db: TestDatabase;
  readonly chain?: TestChain;
  /** A client of the log for assertions (what was appended) and for writing events straight onto it. */
  readonly log: TradeLog;
  /** The environment every service of this infra reads. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

/** NATS, Postgres and (with `chain`) anvil with the contracts, and the environment the services read. */
export async function startTestInfra(opts: { chain?: boolean } = {}): Promise<TestInfra> {
  const [nats, db, chain] = await Promise.all([startNats(), createTestDatabase(), opts.chain ? startTestChain() : Promise.resolve(undefined)]);
  const log = await connectTradeLog({ servers: nats.url, name: 'test-observer' });
  await log.ensureStream();
  const env: Record<string, string> = {
    NATS_URL: nats.url,
    DATABASE_URL: db.url,
    HTTP_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    OPERATOR_TOKEN,
    DEV_MODE: 'true',
    // the tests' webhook receivers listen on 127.0.0.1
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    CUSTODY_MNEMONIC,
    DEPLOYER_PRIVATE_KEY: devKey(ROLE_INDEX.deployer),
    SETTLEMENT_PRIVATE_KEY: devKey(ROLE_INDEX.settlement),
    MINTER_PRIVATE_KEY: devKey(ROLE_INDEX.minter),
    ...(chain ? { RPC_URL: chain.anvil.rpcUrl, CHAIN_ID: String(chain.anvil.chainId), MARKET_ADDRESSES: JSON.stringify(chain.addresses) } : {}),
  };
  return {
    nats,
    db,
    chain,
    log,
    env,
    async stop() {
      await log.close();
      await Promise.all([nats.stop(), db.drop(), chain?.stop()]);
    },
  };
}

export interface ServiceUnderTest {
  readonly app: NestExpressApplication;
  /** Where it answers /health/live, /health/ready and /metrics. */
  readonly url: string;
  readonly rt: ServiceRuntime;
  /** A caller's command bus, as another service would hold it. */
  readonly bus: CommandBus;
  stop(): Promise<void>;
}

/**
 * Boots one service's Nest module (commands on NATS, health over HTTP) from `infra`'s environment
 * plus `env`, the way `bootService` does, and a command bus to call it with.
 */
export async function startService(module: unknown, infra: TestInfra, env: Record<string, string> = {}): Promise<ServiceUnderTest> {
  Object.assign(process.env, infra.env, env);
  const app = await createServiceApp(module, { logger: ['error', 'warn'] });
  const url = await listen(app);
  const bus = new CommandBus({ servers: infra.nats.url, name: 'test-caller' });
  await bus.connect();
  return {
    app,
    url,
    rt: app.get(ServiceRuntime),
    bus,
    async stop() {
      await bus.close();
      await app.close();
    },
  };
}


/** GET `url` and its JSON, with the status. */
export async function getJson(url: string): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- health and metrics answers of many shapes
  const res = await fetch(url);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (metrics): the text
  }
  return { status: res.status, body };
}

/** Appends a decider's drafts to an aggregate as a service would (through the catalogue's encoder). */
export async function appendDrafts(
  log: TradeLog,
  kind: AggregateKind,
  id: string,
  drafts: readonly Draft[],
  meta: { actor?: string; occurredAt?: Date } = {},
): Promise<number[]> {
  const events = drafts.map((d) =>
    makeEvent(d.type, d.data as never, {
      id: uuidv7(),
      aggregateId: id,
      occurredAt: (meta.occurredAt ?? new Date()).toISOString(),
      correlationId: id,
      causationId: id,
      actor: meta.actor ?? 'test',
    }),
  );
  const acks = await log.append(subjectFor(kind, id), events, { expectedLastSubjectSeq: 'any' });
  return acks.map((a) => a.seq);
}

/** Writes raw bytes straight onto the stream, past the encoder: an event an older or broken writer left on the log. */
export async function publishRaw(log: TradeLog, subject: string, body: unknown): Promise<number> {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : new TextEncoder().encode(JSON.stringify(body));
  const ack = await log.js.publish(subject, bytes);
  return ack.seq;
}

/** The raw envelope of a valid event of `type` (wire form), for tests that then break it. */
export function rawEvent(type: string, aggregateId: string, data: Record<string, unknown>): Record<string, unknown> {
  return { id: uuidv7(), type, schemaVersion: 1, aggregateId, occurredAt: new Date().toISOString(), correlationId: aggregateId, causationId: aggregateId, actor: 'test', data };
}

/** How many events the log holds on subjects matching `filter` (e.g. `trade.job.>`). */
export async function countEvents(log: TradeLog, filter: string): Promise<number> {
  const jsm = await log.jsm();
  const info = await jsm.streams.info(log.streamName, { subjects_filter: filter });
  return Object.values(info.state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
}

export interface UnderTest {
  /** The service's own nats-server, database (and chain), set before the spec file's first test. */
  readonly infra: TestInfra;
  readonly service: ServiceUnderTest;
}

/**
 * The common setup of a handler spec: boots `module` on its own infra before the file's tests
 * and stops both after them. Read `infra` and `service` inside tests (they are set by then).
 */
export function serviceUnderTest(module: unknown, opts: { chain?: boolean; env?: Record<string, string> } = {}): UnderTest {
  const under = {} as { infra: TestInfra; service: ServiceUnderTest };
  beforeAll(async () => {
    under.infra = await startTestInfra({ chain: opts.chain });
    under.service = await startService(module, under.infra, opts.env);
  }, 120_000);
  afterAll(async () => {
    await under.service?.stop();
    await under.infra?.stop();
  });
  return under;
}

export * from './batch-paths';
export * from './market-log';
export * from './test-nras';
