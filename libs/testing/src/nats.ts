import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testInfraMode } from './containers-mode';
import { TestInfraError } from './errors';
import { freePort, portAcceptsConnections } from './ports';

/** How long nats-server may take to accept connections before the test gives up. */
export const NATS_START_TIMEOUT_MS = 15_000;
/** How long stop() waits for a graceful exit before SIGKILL. */
export const NATS_STOP_TIMEOUT_MS = 5_000;
const POLL_INTERVAL_MS = 50;
/** Attempts with a fresh port, in case another process grabbed the one freePort() returned. */
const START_ATTEMPTS_MAX = 3;
const INSTALL_HINT = 'install it with `apt-get install nats-server` (Debian/Ubuntu) or from https://github.com/nats-io/nats-server/releases';

export interface TestNats {
  readonly url: string;
  readonly port: number;
  /** The JetStream store directory (removed by stop()): on this machine, or inside the container. */
  readonly storeDir: string;
  /**
   * Kills the server (SIGKILL: a crash, or SIGTERM: a clean shutdown) and starts it again on the
   * same port with the same store, after `downMs`; clients reconnect on their own.
   */
  restart(opts?: { signal?: 'SIGKILL' | 'SIGTERM'; downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a private `nats-server -js` on a free port of 127.0.0.1 with its store in a fresh temporary
 * directory, so a test never touches the shared stack's streams. stop() kills it and removes the store.
 * With STARMINER_TEST_INFRA on containers, the same server runs in its own container instead; an
 * explicit `binary` always means that local program.
 */
export async function startNats(opts: { binary?: string } = {}): Promise<TestNats> {
  if (opts.binary === undefined && (await testInfraMode()) === 'containers') {
    const { startNatsContainer } = await import('./containers');
    return startNatsContainer();
  }
  const binary = opts.binary ?? process.env.NATS_SERVER_BIN ?? 'nats-server';
  let lastError: unknown;
  for (let attempt = 0; attempt < START_ATTEMPTS_MAX; attempt += 1) {
    const storeDir = await mkdtemp(join(tmpdir(), 'starminer-nats-'));
    const port = await freePort();
    try {
      return await startOnce(binary, port, storeDir);
    } catch (err) {
      await rm(storeDir, { recursive: true, force: true });
      if (err instanceof TestInfraError && err.code === 'NATS_SERVER_MISSING') throw err;
      lastError = err;
    }
  }
  throw lastError;
}

async function startOnce(binary: string, port: number, storeDir: string): Promise<TestNats> {
  let child = await spawnServer(binary, port, storeDir);
  const stopOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', stopOnExit);
  let stopped: Promise<void> | undefined;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    restart: async ({ signal = 'SIGKILL', downMs = 0 } = {}) => {
      if (stopped) throw new TestInfraError('NATS_SERVER_START_FAILED', 'restart() after stop()');
      if (signal === 'SIGKILL') {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGKILL');
        await exited;
      } else {
        await killAndWait(child, NATS_STOP_TIMEOUT_MS);
      }
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      child = await spawnServer(binary, port, storeDir);
    },
    stop: () => {
      stopped ??= (async () => {
        process.removeListener('exit', stopOnExit);
        await killAndWait(child, NATS_STOP_TIMEOUT_MS);
        await rm(storeDir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

async function spawnServer(binary: string, port: number, storeDir: string): Promise<ChildProcess> {
  const child = spawn(binary, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    if (stderr.length < 10_000) stderr += chunk;
  });
  const exited = new Promise<Error>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      resolve(
        err.code === 'ENOENT'
          ? new TestInfraError('NATS_SERVER_MISSING', `'${binary}' was not found on PATH: ${INSTALL_HINT}`, { cause: err })
          : new TestInfraError('NATS_SERVER_START_FAILED', `could not spawn ${binary}: ${err.message}`, { cause: err }),
      );
    });
    child.once('exit', (code, signal) => {
      resolve(new TestInfraError('NATS_SERVER_START_FAILED', `nats-server exited early (code ${code}, signal ${signal}): ${stderr.trim()}`));
    });
  });
  const abort = new AbortController();
  const ready = waitForPort(port, NATS_START_TIMEOUT_MS, abort.signal);
  const outcome = await Promise.race([ready.then(() => undefined), exited]);
  abort.abort();
  if (outcome instanceof Error) {
    child.kill('SIGKILL');
    throw outcome;
  }
  return child;
}

async function waitForPort(port: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !signal.aborted) {
    if (await portAcceptsConnections(port)) return;
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
  if (signal.aborted) return;
  throw new TestInfraError('NATS_SERVER_START_FAILED', `nats-server did not accept connections on port ${port} within ${timeoutMs} ms`);
}

/** SIGTERM, then SIGKILL after timeoutMs; resolves once the process has exited. */
export async function killAndWait(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}
