import { NATS_START_TIMEOUT_MS } from './nats';

/**
 * What the container path starts, as plain data (containers.ts turns it into testcontainers'
 * GenericContainer): the same servers, versions and flags as the local path.
 */

/** The nats-server line the local path requires (tools/stack/nats-binary.ts: >= 2.10), with JetStream; the release the Kubernetes manifests and compose run. */
export const NATS_IMAGE = 'nats:2.10.29-alpine';
export const POSTGRES_IMAGE = 'postgres:16-alpine';
/** The anvil of the npm package (@foundry-rs/anvil 1.7.1), so both paths run the same chain. */
export const ANVIL_IMAGE = 'ghcr.io/foundry-rs/foundry:v1.7.1';
export const TEST_IMAGES = [NATS_IMAGE, POSTGRES_IMAGE, ANVIL_IMAGE] as const;

export const NATS_CONTAINER_PORT = 4222;
/**
 * The JetStream store, inside the container: it survives restart() and goes with the container. A
 * path no host has, as TestNats.storeDir names it and a host-side check must not find it.
 */
export const NATS_CONTAINER_STORE_DIR = '/var/lib/starminer-test-nats';
export const POSTGRES_CONTAINER_PORT = 5432;
export const ANVIL_CONTAINER_PORT = 8545;
/** initdb and start of a fresh cluster (the image's first-start script), on a loaded machine. */
export const POSTGRES_CONTAINER_START_TIMEOUT_MS = 60_000;
/**
 * Connections the one Postgres of a run accepts: every jest worker boots whole markets (six
 * services, each with its pool) against it at once, where locally each worker may have its own.
 */
export const POSTGRES_CONTAINER_MAX_CONNECTIONS = 400;
/** Marks our containers, so leftovers of a killed run are easy to find (`docker ps --filter label=...`). */
export const CONTAINER_LABEL = 'dev.starminer.test';

export interface ContainerSpec {
  readonly role: 'nats' | 'postgres' | 'anvil';
  readonly image: string;
  /** Replaces the image's entrypoint (the foundry image's is `/bin/sh -c`). */
  readonly entrypoint?: readonly string[];
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly containerPort: number;
  /** A fixed host port (nats: restart() keeps its URL); else the engine picks one. */
  readonly hostPort?: number;
  readonly tmpfs?: Readonly<Record<string, string>>;
  /** Ready once this line has been logged `times` times since the container started. */
  readonly ready: { readonly logLine: RegExp; readonly times: number };
  readonly startupTimeoutMs: number;
}

/** `nats-server -js` with its store inside the container, as startNats runs it locally. */
export function natsContainerSpec(opts: { hostPort: number }): ContainerSpec {
  return {
    role: 'nats',
    image: NATS_IMAGE,
    command: ['-js', '-sd', NATS_CONTAINER_STORE_DIR, '-p', String(NATS_CONTAINER_PORT)],
    env: {},
    containerPort: NATS_CONTAINER_PORT,
    hostPort: opts.hostPort,
    ready: { logLine: /Server is ready/, times: 1 },
    startupTimeoutMs: NATS_START_TIMEOUT_MS,
  };
}

/**
 * Postgres 16 for throw-away test databases: data on tmpfs and no fsync (nothing here must survive
 * a crash). The image logs "ready" twice: once for its init-time server, once for the real one.
 */
export function postgresContainerSpec(opts: { password: string }): ContainerSpec {
  return {
    role: 'postgres',
    image: POSTGRES_IMAGE,
    command: [
      'postgres',
      ...['fsync=off', 'synchronous_commit=off', 'full_page_writes=off', `max_connections=${POSTGRES_CONTAINER_MAX_CONNECTIONS}`].flatMap((s) => ['-c', s]),
    ],
    env: { POSTGRES_USER: 'postgres', POSTGRES_PASSWORD: opts.password, POSTGRES_DB: 'postgres' },
    containerPort: POSTGRES_CONTAINER_PORT,
    tmpfs: { '/var/lib/postgresql/data': 'rw' },
    ready: { logLine: /database system is ready to accept connections/, times: 2 },
    startupTimeoutMs: POSTGRES_CONTAINER_START_TIMEOUT_MS,
  };
}

/**
 * anvil with the local anvil's command line (`anvilArgs` of @starminer/chain: chain id, mnemonic,
 * block time, extra flags; passed in, as that library is loaded lazily), on the container's port and
 * all of its interfaces so the published port reaches it. A state file is a local-path feature
 * (see startAnvil in anvil.ts).
 */
export function anvilContainerSpec(localArgs: readonly string[], opts: { hostPort?: number; readyTimeoutMs: number }): ContainerSpec {
  const command = [...localArgs];
  for (const [flag, value] of [
    ['--host', '0.0.0.0'],
    ['--port', String(ANVIL_CONTAINER_PORT)],
  ] as const) {
    const at = command.indexOf(flag);
    if (at === -1) command.push(flag, value);
    else command[at + 1] = value;
  }
  return {
    role: 'anvil',
    image: ANVIL_IMAGE,
    entrypoint: ['anvil'],
    command,
    env: {},
    containerPort: ANVIL_CONTAINER_PORT,
    hostPort: opts.hostPort,
    ready: { logLine: /Listening on/, times: 1 },
    startupTimeoutMs: opts.readyTimeoutMs,
  };
}

/**
 * Where to publish ports and how to reach them. An engine on this machine (host `localhost`)
 * publishes on 127.0.0.1 only, so test databases are not on the network; a remote engine (a
 * DOCKER_HOST, or the gateway when we run inside a container) publishes on its own interfaces,
 * where its 127.0.0.1 would be out of our reach.
 */
export function publishAddress(engineHost: string): { readonly bindIp?: string; readonly connectHost: string } {
  const loopback = engineHost === 'localhost' || engineHost === '127.0.0.1' || engineHost === '::1';
  return loopback ? { bindIp: '127.0.0.1', connectHost: '127.0.0.1' } : { connectHost: engineHost };
}

/** The admin URL of the container's Postgres (user postgres, database postgres). */
export function postgresAdminUrl(host: string, port: number, password: string): string {
  return `postgres://postgres:${encodeURIComponent(password)}@${host.includes(':') ? `[${host}]` : host}:${port}/postgres`;
}
