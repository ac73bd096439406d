import { randomBytes } from 'node:crypto';
import type { AnvilHandle, StartAnvilOptions } from '@starminer/chain';
import { BoundPorts, GenericContainer, getContainerRuntimeClient, ImageName, Wait, waitForContainer, type StartedTestContainer } from 'testcontainers';
import { TestInfraError } from './errors';
import {
  ANVIL_CONTAINER_PORT,
  anvilContainerSpec,
  CONTAINER_LABEL,
  NATS_CONTAINER_STORE_DIR,
  natsContainerSpec,
  postgresAdminUrl,
  postgresContainerSpec,
  publishAddress,
  TEST_IMAGES,
  type ContainerSpec,
} from './containers-specs';
import { NATS_START_TIMEOUT_MS, NATS_STOP_TIMEOUT_MS, type TestNats } from './nats';
import { freePort } from './ports';

/**
 * The container path of the test infrastructure (STARMINER_TEST_INFRA=containers): the servers of
 * containers-specs.ts started through testcontainers. Loaded only in that mode, so the local path
 * never loads testcontainers. Ryuk (testcontainers' reaper) removes what a killed process left.
 */

/**
 * The run's Postgres container, started once by `npm test` and read by every jest worker (each
 * test still creates its own database on it). Unset: a worker starts its own, once per process.
 */
export const TEST_POSTGRES_CONTAINER_URL_ENV = 'STARMINER_TEST_POSTGRES_CONTAINER_URL';
/** Attempts with a fresh host port, in case another process took the one freePort() returned. */
const NATS_START_ATTEMPTS_MAX = 3;
/** How long pulling one image may take on the first run of a machine (the foundry image is the big one). */
export const IMAGE_PULL_TIMEOUT_MS = 300_000;

/** testcontainers publishes ports on every interface; this one can publish them on one address. */
class PublishedContainer extends GenericContainer {
  publishedOn(ip: string): this {
    for (const bindings of Object.values(this.hostConfig.PortBindings ?? {}) as { HostIp?: string }[][]) {
      for (const binding of bindings) binding.HostIp = ip;
    }
    return this;
  }
}

/** The GenericContainer for `spec`, its ports published on `bindIp` when given (not started). */
export function buildContainer(spec: ContainerSpec, bindIp?: string): GenericContainer {
  const container = new PublishedContainer(spec.image)
    .withCommand([...spec.command])
    .withEnvironment({ ...spec.env })
    .withLabels({ [CONTAINER_LABEL]: spec.role })
    .withExposedPorts(spec.hostPort === undefined ? spec.containerPort : { container: spec.containerPort, host: spec.hostPort })
    .withWaitStrategy(Wait.forLogMessage(spec.ready.logLine, spec.ready.times))
    .withStartupTimeout(spec.startupTimeoutMs);
  if (spec.entrypoint) container.withEntrypoint([...spec.entrypoint]);
  if (spec.tmpfs) container.withTmpFs({ ...spec.tmpfs });
  if (bindIp !== undefined) container.publishedOn(bindIp);
  return container;
}

interface Running {
  readonly container: StartedTestContainer;
  /** host:port reach the spec's container port from here. */
  readonly host: string;
  readonly port: number;
}

async function startContainer(spec: ContainerSpec): Promise<Running> {
  const engine = await getContainerRuntimeClient();
  const { bindIp, connectHost } = publishAddress(engine.info.containerRuntime.host);
  try {
    const container = await buildContainer(spec, bindIp).start();
    return { container, host: connectHost, port: container.getMappedPort(spec.containerPort) };
  } catch (cause) {
    throw new TestInfraError('CONTAINER_START_FAILED', `the ${spec.role} container (${spec.image}) did not start: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

/**
 * Pulls the images a run needs that the engine does not have yet, once, before the tests: a first
 * pull takes longer than any test's setup may.
 */
export async function pullTestImages(log: (line: string) => void = () => undefined): Promise<void> {
  const engine = await getContainerRuntimeClient();
  await Promise.all(
    TEST_IMAGES.map(async (image) => {
      const name = ImageName.fromString(image);
      if (await engine.image.exists(name)) return;
      log(`pulling ${image}`);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TestInfraError('CONTAINER_START_FAILED', `pulling ${image} took over ${IMAGE_PULL_TIMEOUT_MS} ms`)), IMAGE_PULL_TIMEOUT_MS);
      });
      try {
        await Promise.race([engine.image.pull(name), timedOut]);
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}

/** A private `nats-server -js` in a container on a fixed 127.0.0.1 port (restart() keeps the URL and the store). */
export async function startNatsContainer(): Promise<TestNats> {
  let lastError: unknown;
  for (let attempt = 0; attempt < NATS_START_ATTEMPTS_MAX; attempt += 1) {
    const spec = natsContainerSpec({ hostPort: await freePort() });
    try {
      return natsHandle(spec, await startContainer(spec));
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

function natsHandle(spec: ContainerSpec, running: Running): TestNats {
  let stopped: Promise<void> | undefined;
  return {
    url: `nats://${running.host}:${running.port}`,
    port: running.port,
    storeDir: NATS_CONTAINER_STORE_DIR,
    restart: async ({ signal = 'SIGKILL', downMs = 0 } = {}) => {
      if (stopped) throw new TestInfraError('NATS_SERVER_START_FAILED', 'restart() after stop()');
      const engine = await getContainerRuntimeClient();
      const container = engine.container.getById(running.container.getId());
      // The container (and the store in it) stays; only the server process dies, as with the local binary.
      if (signal === 'SIGKILL') await container.kill({ signal: 'SIGKILL' });
      else await engine.container.stop(container, { timeout: NATS_STOP_TIMEOUT_MS });
      await container.wait({ condition: 'not-running' });
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await engine.container.start(container);
      const startedAt = new Date((await engine.container.inspect(container)).State.StartedAt);
      const ready = Wait.forLogMessage(spec.ready.logLine, spec.ready.times).withStartupTimeout(NATS_START_TIMEOUT_MS);
      await waitForContainer(engine, container, ready, new BoundPorts(), startedAt);
    },
    stop: () => {
      stopped ??= running.container.stop({ timeout: NATS_STOP_TIMEOUT_MS, remove: true }).then(() => undefined);
      return stopped;
    },
  };
}

/** A Postgres container and its admin URL; stop() removes it (its data is on tmpfs). */
export async function startPostgresContainer(): Promise<{ readonly adminUrl: string; stop(): Promise<void> }> {
  const password = randomBytes(12).toString('hex');
  const running = await startContainer(postgresContainerSpec({ password }));
  return {
    adminUrl: postgresAdminUrl(running.host, running.port, password),
    stop: () => running.container.stop({ remove: true }).then(() => undefined),
  };
}

/** anvil in a container, with the local anvil's flags; stop() throws the chain away. */
export async function startAnvilContainer(opts: Omit<StartAnvilOptions, 'stateFile'> = {}): Promise<AnvilHandle> {
  const { anvilArgs, ANVIL_READY_TIMEOUT_MS } = await import('@starminer/chain');
  const { port, ...rest } = opts;
  const spec = anvilContainerSpec(anvilArgs({ ...rest, port: ANVIL_CONTAINER_PORT }), { hostPort: port, readyTimeoutMs: ANVIL_READY_TIMEOUT_MS });
  const running = await startContainer(spec);
  let stopped: Promise<void> | undefined;
  return {
    rpcUrl: `http://${running.host.includes(':') ? `[${running.host}]` : running.host}:${running.port}`,
    chainId: Number(spec.command[spec.command.indexOf('--chain-id') + 1]),
    port: running.port,
    // no process of ours: the chain runs in the engine (never -1: process.kill(-1) signals every process of the user)
    pid: undefined,
    stop: () => {
      stopped ??= running.container.stop({ remove: true }).then(() => undefined);
      return stopped;
    },
  };
}

/**
 * What `npm test` prepares once per run on the container path: the images, and the one Postgres the
 * workers share (its URL goes to them in TEST_POSTGRES_CONTAINER_URL_ENV). NATS and anvil start per
 * test infra, as the local binaries do, so each test keeps its own streams and chain.
 */
export async function startRunContainers(log: (line: string) => void): Promise<{ readonly env: Record<string, string>; stop(): Promise<void> }> {
  await pullTestImages(log);
  const postgres = await startPostgresContainer();
  log(`Postgres container at ${postgres.adminUrl.replace(/:[^:@/]*@/, ':***@')}`);
  return { env: { [TEST_POSTGRES_CONTAINER_URL_ENV]: postgres.adminUrl }, stop: () => postgres.stop() };
}
