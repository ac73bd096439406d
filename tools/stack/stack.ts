/**
 * The whole market on one machine: nats-server (JetStream), Postgres (DATABASE_URL or embedded),
 * anvil (state saved under the data dir every second and on a clean stop), the contracts deployed
 * once, every service as its own process, a demo org with funds, and demo provider agents. Every
 * process the launcher starts is supervised: one that dies is restarted (on the same port, from its
 * state), at most RESTARTS_PER_WINDOW_MAX times a window. All state lives under `dataDir`, so
 * stopping and starting again resumes the same log, read models and chain.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { toHex } from 'viem';
import { english, generateMnemonic, mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';
import { ANVIL_STOP_TIMEOUT_MS, DEV_MNEMONIC, anvilAnswers, anvilArgs, anvilBinary, createChainClients, deployMarket, type MarketAddresses } from '@starminer/chain';
import { createClient, StarMinerApiError } from '@starminer/sdk';
import { EMBEDDED_POSTGRES_CHILD, portAcceptsConnections as portOpen } from '@starminer/testing';
import { ensureArtifacts } from '../../contracts/scripts/compile';
import { BUILT_APPS, entryOf, type BuiltApp } from '../build/layout';
import { distStaleness } from '../build/stale';
import { ensureNatsServer } from './nats-binary';
import { DataDirUnreachableError, preparePostgresDataDir } from './data-dir';
import { ManagedProcess, type LineSink } from './processes';
import { CONSOLE_BUILD_DIR } from '../build/console';

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const DEFAULT_PORTS = { nats: 4322, postgres: 5433, anvil: 8545, gateway: 8080, services: 9101 } as const;
export const ANVIL_CHAIN_ID = 31337;
/** AGPU the demo org gets from the faucet on its first start: 1 000 000 AGPU. */
export const DEMO_FUNDS_WEI = 1_000_000n * 10n ** 18n;
/** Services in start order; they stop in reverse. */
export const SERVICES = ['registry', 'intake', 'matching', 'deployer', 'settlement', 'gateway'] as const;
export type ServiceName = (typeof SERVICES)[number];

export const NATS_READY_TIMEOUT_MS = 15_000;
export const EMBEDDED_POSTGRES_READY_TIMEOUT_MS = 120_000;
export const GATEWAY_READY_TIMEOUT_MS = 180_000;
/** How long every service may take to report ready (its readers caught up, its dependencies answering). */
export const SERVICES_READY_TIMEOUT_MS = 180_000;
export const ANVIL_READY_TIMEOUT_MS = 30_000;
/** How long the embedded Postgres may take to shut down cleanly (a checkpoint) before it is killed. */
export const POSTGRES_STOP_TIMEOUT_MS = 30_000;
/** Attempts at creating the demo org while the services finish booting. */
const DEMO_ORG_ATTEMPTS_MAX = 60;
const DEMO_ORG_RETRY_MS = 2_000;
const POLL_MS = 200;
/** Node flags that run the repo's TypeScript with decorator metadata (see register.cjs for why not tsx). */
export const TS_RUNNER = ['--require', join(__dirname, 'register.cjs')] as const;
/**
 * How a service or agent process starts: from source through the hook (the default: dev and tests),
 * or, with `fromDist` (STACK_FROM=dist), as plain `node dist/apps/<app>/src/main.js`, what
 * `npm run build` makes and the image runs (tools/build/layout.ts).
 */
export function appArgs(app: BuiltApp, fromDist: boolean): string[] {
  return [...profilerArgs(), ...(fromDist ? [join(REPO_ROOT, entryOf(app))] : [...TS_RUNNER, `apps/${app}/src/main.ts`])];
}

/**
 * `STACK_CPU_PROF_DIR=<dir>`: every service and agent writes a V8 CPU profile there when it stops
 * (`--cpu-prof`, which NODE_OPTIONS does not take): what bench:e2e's bottleneck is made of.
 */
function profilerArgs(): string[] {
  const dir = process.env.STACK_CPU_PROF_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}
const STACK_DATABASE = 'starminer';

/** Anvil dev accounts by role (their keys are public: dev chains only). */
const DEV_ROLE_INDEX = { admin: 0, deployer: 1, settlement: 2, minter: 3 } as const;

export interface DemoAgentSpec {
  name: string;
  gpuModel: string;
  gpuCount: number;
  vramGiB: number;
  region: string;
  latencyMs: number;
  carbonGPerKwh: number;
  renewableShare: number;
}

export const DEMO_AGENTS: readonly DemoAgentSpec[] = [
  { name: 'demo-h100-eu', gpuModel: 'H100', gpuCount: 8, vramGiB: 80, region: 'eu-west', latencyMs: 12, carbonGPerKwh: 120, renewableShare: 0.7 },
  { name: 'demo-rtx4090-us', gpuModel: 'RTX4090', gpuCount: 4, vramGiB: 24, region: 'us-east', latencyMs: 25, carbonGPerKwh: 380, renewableShare: 0.25 },
];

export interface StackOptions {
  /** Everything the stack keeps: NATS store, embedded Postgres, chain state, secrets, agent keys. */
  dataDir: string;
  ports?: Partial<Record<keyof typeof DEFAULT_PORTS, number>>;
  /** A Postgres to use instead of the embedded one (default: process.env.DATABASE_URL). */
  databaseUrl?: string;
  /** Run the embedded Postgres even when DATABASE_URL is set (the chaos harness kills it). */
  embeddedPostgres?: boolean;
  /** Demo provider agents to run (default: DEMO_AGENTS). */
  agents?: readonly DemoAgentSpec[];
  /** Where the children's prefixed output and the launcher's own lines go (default: stdout). */
  log?: LineSink;
  demoFundsWei?: bigint;
  /** Aborting it (Ctrl-C during start-up) stops what was started and rejects with the reason. */
  signal?: AbortSignal;
  /** The services' log lines: `pretty` (pino-pretty, a developer's terminal; the default) or `json` (production's, and far cheaper: the benches use it). */
  logFormat?: 'pretty' | 'json';
  /** Start the services and agents from `npm run build`'s dist/ (default: STACK_FROM=dist), else from source. */
  fromDist?: boolean;
}

export interface StackSecrets {
  operatorToken: string;
  custodyMnemonic: string;
  postgresPassword: string;
  adminPrivateKey: `0x${string}`;
  deployerPrivateKey: `0x${string}`;
  settlementPrivateKey: `0x${string}`;
  minterPrivateKey: `0x${string}`;
  /** The gateway's NODE_SESSION_SECRET (node sessions stay good across a restart of the stack). */
  nodeSessionSecret: string;
}

export interface Stack {
  gatewayUrl: string;
  operatorToken: string;
  demoApiKey: string;
  demoOrg: { orgId: string; accountAddress: `0x${string}` };
  natsUrl: string;
  /** Each service's HTTP: /health/live, /health/ready, /metrics (the gateway's API too). */
  serviceUrls: Readonly<Record<ServiceName, string>>;
  databaseUrl: string;
  rpcUrl: string;
  chainId: number;
  addresses: MarketAddresses;
  agents: { name: string; keyFile: string }[];
  /** The supervised processes by name: services and agents, and 'nats', 'anvil' and 'postgres' (its helper; embedded only). */
  processes: ReadonlyMap<string, ManagedProcess>;
  /** The embedded Postgres server's own pid (its postmaster), read from its lock file; undefined with DATABASE_URL or when it is down. */
  postgresPid(): number | undefined;
  stop(): Promise<void>;
}

export class StackError extends Error {
  override readonly name = 'StackError';
  constructor(
    readonly code:
      | 'PORT_IN_USE'
      | 'STACK_RUNNING'
      | 'NATS_START_FAILED'
      | 'POSTGRES_START_FAILED'
      | 'DATA_DIR_UNREACHABLE'
      | 'CHAIN_START_FAILED'
      | 'CHAIN_STATE_LOST'
      | 'SERVICE_DIED'
      | 'GATEWAY_NOT_READY'
      | 'DEMO_ORG_FAILED'
      | 'NOT_BUILT',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const devPrivateKey = (index: number): `0x${string}` => {
  const key = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index }).getHdKey().privateKey;
  if (!key) throw new Error(`no private key for dev account ${index}`);
  return toHex(key);
};

function readJson<T>(file: string): T | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined;
}

function writeJson(file: string, value: unknown, mode = 0o644): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode });
  renameSync(tmp, file);
  chmodSync(file, mode);
}

/** Secrets are generated on the first start and kept (mode 0600) so a restart is the same market. */
export function loadOrCreateSecrets(dataDir: string): StackSecrets {
  const file = join(dataDir, 'secrets.json');
  const existing = readJson<Partial<StackSecrets>>(file);
  if (existing?.operatorToken) {
    if (existing.nodeSessionSecret) return existing as StackSecrets;
    // a data dir made before node sessions: the new secret is added, the others kept
    const upgraded = { ...existing, nodeSessionSecret: randomBytes(32).toString('base64url') } as StackSecrets;
    writeJson(file, upgraded, 0o600);
    return upgraded;
  }
  const secrets: StackSecrets = {
    operatorToken: `op_${randomBytes(24).toString('base64url')}`,
    custodyMnemonic: generateMnemonic(english),
    postgresPassword: randomBytes(16).toString('hex'),
    adminPrivateKey: devPrivateKey(DEV_ROLE_INDEX.admin),
    deployerPrivateKey: devPrivateKey(DEV_ROLE_INDEX.deployer),
    settlementPrivateKey: devPrivateKey(DEV_ROLE_INDEX.settlement),
    minterPrivateKey: devPrivateKey(DEV_ROLE_INDEX.minter),
    nodeSessionSecret: randomBytes(32).toString('base64url'),
  };
  writeJson(file, secrets, 0o600);
  return secrets;
}

async function assertPortFree(port: number, what: string, envName: string): Promise<void> {
  if (await portOpen(port)) throw new StackError('PORT_IN_USE', `port ${port} (${what}) is already in use: is another stack running? Stop it or set ${envName}.`);
}

async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>, died?: () => string | undefined, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    const death = died?.();
    if (death) throw new StackError('SERVICE_DIED', `${what}: ${death}`);
    if (await probe()) return;
    if (Date.now() > deadline) throw new StackError('GATEWAY_NOT_READY', `${what} was not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** A pid file so two launchers never share one data dir. */
function claimDataDir(dataDir: string): () => void {
  const file = join(dataDir, 'stack.pid');
  const pid = Number(existsSync(file) ? readFileSync(file, 'utf8').trim() : NaN);
  if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {
      alive = false;
    }
    if (alive) throw new StackError('STACK_RUNNING', `a stack (pid ${pid}) is already running on ${dataDir}`);
  }
  writeFileSync(file, String(process.pid));
  return () => rmSync(file, { force: true });
}

export interface Stoppable {
  name: string;
  stop(): Promise<void>;
}

/** Starts the whole stack; on any failure it stops what it had started and rethrows. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const dataDir = resolve(options.dataDir);
  const log: LineSink = options.log ?? ((line) => console.log(line));
  const ports = { ...DEFAULT_PORTS, ...options.ports };
  mkdirSync(dataDir, { recursive: true });
  const started: Stoppable[] = [];
  const stopAll = async (): Promise<void> => {
    for (const s of started.reverse()) {
      try {
        await s.stop();
      } catch (err) {
        log(`[stack] stopping ${s.name} failed: ${(err as Error).message}`);
      }
    }
    started.length = 0;
  };

  const signal = options.signal;
  const step = (): void => signal?.throwIfAborted();
  const fromDist = options.fromDist ?? process.env.STACK_FROM === 'dist';
  const notBuilt = fromDist ? BUILT_APPS.map((app) => join(REPO_ROOT, entryOf(app))).find((entry) => !existsSync(entry)) : undefined;
  if (notBuilt) throw new StackError('NOT_BUILT', `${notBuilt} is missing: run \`npm run build\` before starting the stack from dist/`);
  // a source edited after the build would silently run the old code
  const stale = fromDist ? distStaleness() : undefined;
  if (stale) throw new StackError('NOT_BUILT', `dist/ is out of date (${stale}): run \`npm run build\` before starting the stack from dist/`);
  try {
    const release = claimDataDir(dataDir);
    started.push({ name: 'pid file', stop: async () => release() });
    const secrets = loadOrCreateSecrets(dataDir);

    // 1. NATS with JetStream, its store under the data dir.
    const natsBin = ensureNatsServer(log);
    await assertPortFree(ports.nats, 'NATS', 'STARMINER_NATS_PORT');
    const natsDir = join(dataDir, 'nats');
    mkdirSync(natsDir, { recursive: true });
    const nats = new ManagedProcess({ name: 'nats', command: natsBin, args: ['-js', '-a', '127.0.0.1', '-p', String(ports.nats), '-sd', natsDir, '-n', 'starminer-stack'], restart: true }, log);
    nats.start();
    started.push({ name: 'nats', stop: () => nats.stop() });
    const natsUrl = `nats://127.0.0.1:${ports.nats}`;
    await waitFor(`nats-server on ${ports.nats}`, NATS_READY_TIMEOUT_MS, () => portOpen(ports.nats), () => (nats.running ? undefined : `nats-server exited:\n${nats.lastLines()}`), signal);
    log(`[stack] NATS JetStream on ${natsUrl} (store ${natsDir})`);

    step();
    // 2. Postgres: DATABASE_URL, else embedded under the data dir, supervised.
    const supervised = new Map<string, ManagedProcess>([['nats', nats]]);
    const external = options.embeddedPostgres ? undefined : (options.databaseUrl ?? process.env.DATABASE_URL);
    const databaseUrl = external ?? (await startEmbeddedPostgres(dataDir, ports.postgres, secrets.postgresPassword, log, started, supervised, signal));
    log(`[stack] Postgres ${redact(databaseUrl)}`);

    step();
    // 3. anvil, its state dumped under the data dir (every second, and on a clean stop), supervised:
    // restarted on the same port from its state file. Then the contracts, deployed once.
    const chainDir = join(dataDir, 'chain');
    mkdirSync(chainDir, { recursive: true });
    const anvil = await startSupervisedAnvil(join(chainDir, 'state.json'), ports.anvil, log, started, signal);
    supervised.set('anvil', anvil.process);
    step();
    const addresses = await deployOnce(chainDir, anvil.rpcUrl, secrets, log);
    log(`[stack] anvil ${anvil.rpcUrl} (chain ${ANVIL_CHAIN_ID}); AGPU ${addresses.token}, escrow ${addresses.escrow}`);

    step();
    // 4. The services, each its own process.
    await assertPortFree(ports.gateway, 'gateway', 'STARMINER_GATEWAY_PORT');
    const gatewayUrl = `http://127.0.0.1:${ports.gateway}`;
    // every service answers /health/live, /health/ready and /metrics on its own port (the gateway on its API port)
    const httpPorts = Object.fromEntries(SERVICES.map((svc, i) => [svc, svc === 'gateway' ? ports.gateway : ports.services + i])) as Record<ServiceName, number>;
    for (const svc of SERVICES) if (svc !== 'gateway') await assertPortFree(httpPorts[svc], `${svc}'s health`, 'STARMINER_SERVICES_PORT');
    const serviceUrls = Object.fromEntries(SERVICES.map((svc) => [svc, `http://127.0.0.1:${httpPorts[svc]}`])) as Record<ServiceName, string>;
    const envOf = serviceEnv({ natsUrl, databaseUrl, rpcUrl: anvil.rpcUrl, addresses, httpPorts, secrets, logFormat: options.logFormat });
    const processes = supervised;
    for (const svc of SERVICES) {
      const p = new ManagedProcess({ name: svc, command: process.execPath, args: appArgs(svc, fromDist), cwd: REPO_ROOT, env: envOf(svc), restart: true }, log);
      p.start();
      processes.set(svc, p);
      started.push({ name: svc, stop: () => p.stop() });
    }
    const dead = (): string | undefined => {
      const gone = [...processes.values()].find((p) => p.gaveUp);
      return gone ? `${gone.spec.name} keeps dying:\n${gone.lastLines()}` : undefined;
    };
    // ready = its dependencies answer and its readers run and have caught up with the log
    for (const svc of SERVICES) {
      await waitFor(`${svc}'s readiness (${serviceUrls[svc]}/health/ready)`, SERVICES_READY_TIMEOUT_MS, () => httpOk(`${serviceUrls[svc]}/health/ready`), dead, signal);
    }
    log(`[stack] every service is ready; gateway on ${gatewayUrl}`);

    step();
    // 5. The demo org, created and funded once.
    const demo = await demoOrg(dataDir, gatewayUrl, secrets.operatorToken, options.demoFundsWei ?? DEMO_FUNDS_WEI, log, signal);

    step();
    // 6. Demo provider agents.
    const agentsDir = join(dataDir, 'agents');
    mkdirSync(agentsDir, { recursive: true, mode: 0o700 });
    const agents: Stack['agents'] = [];
    for (const a of options.agents ?? DEMO_AGENTS) {
      const keyFile = join(agentsDir, `${a.name}.key`);
      const p = new ManagedProcess(
        { name: a.name, command: process.execPath, args: appArgs('provider-agent', fromDist), cwd: REPO_ROOT, env: agentEnv(a, gatewayUrl, keyFile), restart: true },
        log,
      );
      p.start();
      processes.set(a.name, p);
      started.push({ name: a.name, stop: () => p.stop() });
      agents.push({ name: a.name, keyFile });
    }

    let stopped: Promise<void> | undefined;
    return {
      gatewayUrl,
      operatorToken: secrets.operatorToken,
      demoApiKey: demo.apiKey,
      demoOrg: { orgId: demo.orgId, accountAddress: demo.accountAddress },
      natsUrl,
      serviceUrls,
      databaseUrl,
      rpcUrl: anvil.rpcUrl,
      chainId: ANVIL_CHAIN_ID,
      addresses,
      agents,
      processes,
      postgresPid: () => (external ? undefined : postmasterPid(join(dataDir, 'pg'))),
      stop: () => (stopped ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

const redact = (url: string): string => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return res.ok;
  } catch {
    return false;
  }
}

function serviceEnv(p: { natsUrl: string; databaseUrl: string; rpcUrl: string; addresses: MarketAddresses; httpPorts: Record<ServiceName, number>; secrets: StackSecrets; logFormat?: 'pretty' | 'json' }) {
  const base = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: process.env.NODE_ENV ?? 'development',
    NATS_URL: p.natsUrl,
    DATABASE_URL: p.databaseUrl,
    TRADE_STREAM: 'TRADE',
    TRADE_SUBJECT_PREFIX: 'trade',
    HTTP_HOST: '127.0.0.1',
    // readable lines in a developer's terminal (pino-pretty) unless asked for JSON
    LOG_FORMAT: p.logFormat ?? 'pretty',
    ...otelEnv(),
  };
  const chain = { RPC_URL: p.rpcUrl, CHAIN_ID: String(ANVIL_CHAIN_ID), MARKET_ADDRESSES: JSON.stringify(p.addresses) };
  return (svc: ServiceName): NodeJS.ProcessEnv => ({ ...envFor(svc), HTTP_PORT: String(p.httpPorts[svc]) });
  function envFor(svc: ServiceName): NodeJS.ProcessEnv {
    switch (svc) {
      case 'matching':
        return { ...base };
      case 'registry': // reads provider stake from the staking contract
      case 'intake':
        return { ...base, ...chain };
      case 'deployer':
        return { ...base, ...chain, DEPLOYER_PRIVATE_KEY: p.secrets.deployerPrivateKey, MINTER_PRIVATE_KEY: p.secrets.minterPrivateKey, CUSTODY_MNEMONIC: p.secrets.custodyMnemonic };
      case 'settlement':
        return { ...base, ...chain, SETTLEMENT_PRIVATE_KEY: p.secrets.settlementPrivateKey };
      case 'gateway':
        // a developer's webhook receiver runs on this machine
        return { ...base, ...chain, OPERATOR_TOKEN: p.secrets.operatorToken, NODE_SESSION_SECRET: p.secrets.nodeSessionSecret, DEV_MODE: 'true', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', CONSOLE_DIR: CONSOLE_BUILD_DIR };
    }
  }
}

/**
 * Tracing as the stack's own environment asks (OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT,
 * ...), for every service and agent; OTEL_SERVICE_NAME is not passed: each names itself.
 */
function otelEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('OTEL_') && k !== 'OTEL_SERVICE_NAME'));
}

function agentEnv(a: DemoAgentSpec, gatewayUrl: string, keyFile: string): NodeJS.ProcessEnv {
  return {
    ...otelEnv(),
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GATEWAY_URL: gatewayUrl,
    CHAIN_ID: String(ANVIL_CHAIN_ID),
    AGENT_KEY_FILE: keyFile,
    AGENT_NAME: a.name,
    GPU_MODEL: a.gpuModel,
    GPU_COUNT: String(a.gpuCount),
    VRAM_GIB: String(a.vramGiB),
    REGION: a.region,
    LATENCY_MS: String(a.latencyMs),
    TEE: 'false',
    CARBON_G_PER_KWH: String(a.carbonGPerKwh),
    RENEWABLE_SHARE: String(a.renewableShare),
    ENABLE_COMMAND_RUNTIME: 'false',
    // the demo's agents declare their GPUs and have none: they run CPU-only (without it, an agent reads its GPUs with nvidia-smi and refuses to start without any)
    AGENT_CPU_ONLY: 'true',
    LOG_FORMAT: 'pretty',
  };
}

/** The running postmaster's pid from the cluster's lock file, if it is alive. */
export function postmasterPid(pgDir: string): number | undefined {
  const file = join(pgDir, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

async function pgAnswers(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Starts the embedded cluster (persistent under <dataDir>/pg) as a supervised process, restarted when
 * Postgres dies, and makes sure the stack's database exists. As root, Postgres runs as the `postgres`
 * user: the data dir is made enterable for it, or the start is refused saying which folder blocks it.
 */
async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
  password: string,
  log: LineSink,
  started: Stoppable[],
  supervised: Map<string, ManagedProcess>,
  signal?: AbortSignal,
): Promise<string> {
  await assertPortFree(port, 'embedded Postgres', 'STARMINER_PG_PORT');
  const pgDir = join(dataDir, 'pg');
  let tmpDir: string | undefined;
  try {
    tmpDir = preparePostgresDataDir(dataDir, log);
  } catch (err) {
    if (err instanceof DataDirUnreachableError) throw new StackError('DATA_DIR_UNREACHABLE', err.message, { cause: err });
    throw err;
  }
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: tmpDir ?? process.env.TMPDIR };
  const pg = new ManagedProcess(
    {
      name: 'postgres',
      command: process.execPath,
      args: [EMBEDDED_POSTGRES_CHILD, pgDir, String(port), password, 'persistent'],
      cwd: REPO_ROOT,
      env,
      restart: true,
      stdinPipe: true,
      orphanSignal: 'SIGTERM',
      stopTimeoutMs: POSTGRES_STOP_TIMEOUT_MS,
    },
    log,
  );
  pg.start();
  supervised.set('postgres', pg);
  started.push({ name: 'postgres', stop: () => pg.stop() });
  const admin = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  const failed = (): string | undefined => {
    const error = pg.lastLines().split('\n').find((l) => l.startsWith('{"error"'));
    if (error || pg.gaveUp) return `embedded Postgres did not start: ${error ?? ''}\n${pg.lastLines()}`;
    return undefined;
  };
  try {
    await waitFor(`embedded Postgres on ${port}`, EMBEDDED_POSTGRES_READY_TIMEOUT_MS, () => pgAnswers(admin), failed, signal);
  } catch (err) {
    if (err instanceof StackError) throw new StackError('POSTGRES_START_FAILED', err.message, { cause: err });
    throw err;
  }
  log(`[stack] embedded Postgres on 127.0.0.1:${port} (${pgDir}), supervised`);
  const client = new Client({ connectionString: admin });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [STACK_DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE "${STACK_DATABASE}"`);
  } finally {
    await client.end();
  }
  return `postgres://postgres:${password}@127.0.0.1:${port}/${STACK_DATABASE}`;
}

/**
 * Before anvil (re)starts from its state file: a state file that is not whole JSON (a kill -9 in the
 * middle of a dump) is replaced by the last whole one, kept beside it; a whole one becomes that copy.
 */
export function keepAnvilState(stateFile: string): 'none' | 'kept' | 'restored' | 'unusable' {
  const good = `${stateFile}.good`;
  if (!existsSync(stateFile)) {
    if (!existsSync(good)) return 'none';
    copyFileSync(good, stateFile);
    return 'restored';
  }
  try {
    JSON.parse(readFileSync(stateFile, 'utf8'));
  } catch {
    renameSync(stateFile, `${stateFile}.broken`);
    if (!existsSync(good)) return 'unusable';
    copyFileSync(good, stateFile);
    return 'restored';
  }
  copyFileSync(stateFile, `${good}.tmp`);
  renameSync(`${good}.tmp`, good);
  return 'kept';
}

/** anvil as a supervised process: restarted on the same port from its state file when it dies. */
export async function startSupervisedAnvil(stateFile: string, port: number, log: LineSink, started: Stoppable[], signal?: AbortSignal): Promise<{ rpcUrl: string; process: ManagedProcess }> {
  await assertPortFree(port, 'anvil', 'STARMINER_ANVIL_PORT');
  const keep = (): void => {
    const what = keepAnvilState(stateFile);
    if (what === 'restored') log(`[stack] anvil's state file was not whole (killed while dumping?); restored the last whole copy`);
    if (what === 'unusable') log(`[stack] anvil's state file was not whole and no earlier copy exists; moved aside to ${stateFile}.broken`);
  };
  keep();
  const anvil = new ManagedProcess(
    {
      name: 'anvil',
      command: anvilBinary(),
      args: anvilArgs({ port, stateFile, chainId: ANVIL_CHAIN_ID }),
      restart: true,
      stopSignal: 'SIGINT', // anvil dumps its state on SIGINT
      orphanSignal: 'SIGINT',
      stopTimeoutMs: ANVIL_STOP_TIMEOUT_MS,
      beforeRestart: keep,
    },
    (line) => {
      // anvil prints every RPC call it serves: keep the launcher's output to what matters
      if (/^\[anvil\] (eth_|anvil_|net_|web3_|evm_|\s*$)/.test(line)) return;
      log(line);
    },
  );
  anvil.start();
  started.push({ name: 'anvil', stop: () => anvil.stop() });
  const rpcUrl = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`anvil on ${port}`, ANVIL_READY_TIMEOUT_MS, () => anvilAnswers(rpcUrl), () => (anvil.gaveUp ? `anvil keeps dying:\n${anvil.lastLines()}` : undefined), signal);
  } catch (err) {
    if (err instanceof StackError) throw new StackError('CHAIN_START_FAILED', err.message, { cause: err });
    throw err;
  }
  return { rpcUrl, process: anvil };
}

/** Deploys the market on the first start and records it; on later starts checks the chain still holds it. */
async function deployOnce(chainDir: string, rpcUrl: string, secrets: StackSecrets, log: LineSink): Promise<MarketAddresses> {
  const file = join(chainDir, 'addresses.json');
  const { publicClient, wallet } = createChainClients(rpcUrl, ANVIL_CHAIN_ID);
  const recorded = readJson<{ chainId: number; addresses: MarketAddresses }>(file);
  if (recorded) {
    const code = await publicClient.getCode({ address: recorded.addresses.token });
    if (!code || code === '0x')
      throw new StackError('CHAIN_STATE_LOST', `the chain has no contract at ${recorded.addresses.token} recorded in ${file}: its state was lost. Remove the data dir to start a fresh market.`);
    return recorded.addresses;
  }
  const compiled = ensureArtifacts();
  log(`[stack] contracts ${compiled.compiled ? 'compiled' : 'up to date'}: ${compiled.contracts.join(', ')}`);
  const role = (key: `0x${string}`) => privateKeyToAccount(key);
  const admin = role(secrets.adminPrivateKey);
  const addresses = await deployMarket(wallet(admin), publicClient, {
    admin: admin.address,
    deployer: role(secrets.deployerPrivateKey).address,
    settlement: role(secrets.settlementPrivateKey).address,
    minter: role(secrets.minterPrivateKey).address,
  });
  writeJson(file, { chainId: ANVIL_CHAIN_ID, addresses });
  log(`[stack] deployed the market: ${JSON.stringify(addresses)}`);
  return addresses;
}

interface DemoOrgRecord {
  orgId: string;
  name: string;
  apiKey: string;
  accountAddress: `0x${string}`;
  fundedWei: string;
}

/** The demo org: created and funded on the first start, reused after (checked against the gateway). */
async function demoOrg(dataDir: string, gatewayUrl: string, operatorToken: string, fundsWei: bigint, log: LineSink, signal?: AbortSignal): Promise<DemoOrgRecord> {
  const file = join(dataDir, 'demo.json');
  const recorded = readJson<DemoOrgRecord>(file);
  if (recorded) {
    const ok = await retrying('checking the demo org', log, signal, async () => {
      try {
        await createClient({ baseUrl: gatewayUrl, apiKey: recorded.apiKey }).getAccount();
        return true;
      } catch (err) {
        if (err instanceof StarMinerApiError && err.status === 401) return false;
        throw err;
      }
    });
    if (ok) return recorded;
    log('[stack] the recorded demo org is unknown to the gateway (fresh database?); creating it again');
  }
  const org = await retrying('creating the demo org', log, signal, () => createClient({ baseUrl: gatewayUrl }).createOrg({ operatorToken, name: 'Demo Research' }));
  const client = createClient({ baseUrl: gatewayUrl, apiKey: org.apiKey });
  // The faucet is not idempotent and an answer can be lost while the deployer boots (503 after the
  // mint went through), so each attempt first looks at the balance.
  const balanceWei = await retrying('funding the demo org', log, signal, async () => {
    const before = BigInt((await client.getAccount()).balanceWei);
    if (before >= fundsWei) return before;
    return BigInt((await client.faucet({ amountWei: fundsWei - before })).balanceWei);
  });
  const record: DemoOrgRecord = { orgId: org.orgId, name: org.name, apiKey: org.apiKey, accountAddress: org.accountAddress as `0x${string}`, fundedWei: fundsWei.toString() };
  writeJson(file, record, 0o600);
  log(`[stack] demo org ${org.orgId} funded: balance ${balanceWei} wei`);
  return record;
}

/** Retries while the services are still booting (network errors, 5xx, 404 of a read model not caught up). */
async function retrying<T>(what: string, log: LineSink, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    signal?.throwIfAborted();
    try {
      return await fn();
    } catch (err) {
      const transient = !(err instanceof StarMinerApiError) || err.status >= 500 || err.status === 404 || err.status === 429;
      if (!transient || attempt >= DEMO_ORG_ATTEMPTS_MAX) throw new StackError('DEMO_ORG_FAILED', `${what} failed: ${(err as Error).message}`, { cause: err });
      if (attempt === 1 || attempt % 5 === 0) log(`[stack] ${what}: ${(err as Error).message}; retrying`);
      await new Promise((r) => setTimeout(r, DEMO_ORG_RETRY_MS));
    }
  }
}
