import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from 'pg';
import { testInfraMode } from './containers-mode';
import { TestInfraError } from './errors';
import { killAndWait } from './nats';
import { freePort } from './ports';

/** The shared local server tried when DATABASE_URL is not set. */
export const LOCAL_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
/**
 * How long probing a server may take before we fall back to the embedded one. No server refuses at
 * once (ECONNREFUSED); this bounds a server that is there but slow to accept on a loaded machine,
 * where falling back would start a second Postgres for nothing.
 */
export const POSTGRES_PROBE_TIMEOUT_MS = 10_000;
/**
 * How long creating or dropping a test database may wait for a connection: a server that answered
 * the probe is there, but on a loaded machine (two jest workers, each booting a whole market) a
 * connection can take seconds to be accepted.
 */
export const POSTGRES_ADMIN_TIMEOUT_MS = 30_000;
/** initdb + start of the embedded cluster (first run unpacks nothing, but initdb is slow on 2 cores). */
export const EMBEDDED_POSTGRES_START_TIMEOUT_MS = 90_000;
const EMBEDDED_STOP_TIMEOUT_MS = 10_000;
const TEST_DB_PREFIX = 'starminer_test_';

export interface TestDatabase {
  /** A connection URL to the fresh database. */
  readonly url: string;
  readonly name: string;
  /** Drops the database (terminating any connection still open to it). */
  drop(): Promise<void>;
}

/** Where test databases are created: an admin URL on one server. */
interface PostgresServer {
  readonly adminUrl: string;
  readonly kind: 'DATABASE_URL' | 'local' | 'embedded' | 'container';
}

let serverPromise: Promise<PostgresServer> | undefined;

/**
 * A fresh, uniquely named database: on the server of `DATABASE_URL` when set, else on
 * 127.0.0.1:5432 (user postgres) when reachable, else on an embedded Postgres started once per
 * process. Set `STARMINER_TEST_POSTGRES=embedded` to force the embedded one. With
 * STARMINER_TEST_INFRA on containers: on the run's Postgres container (or this process's own).
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  serverPromise ??= pickServer().catch((err: unknown) => {
    serverPromise = undefined;
    throw err;
  });
  const server = await serverPromise;
  const name = `${TEST_DB_PREFIX}${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await withClient(server.adminUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  const url = withDatabase(server.adminUrl, name);
  let dropped: Promise<void> | undefined;
  return {
    url,
    name,
    drop: () => {
      dropped ??= withClient(server.adminUrl, async (c) => {
        // WITH (FORCE) (Postgres 13+) ends connections a test left open, so drop never hangs.
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      });
      return dropped;
    },
  };
}

/** Which server createTestDatabase() uses in this process (starting the embedded one if needed). */
export async function testPostgresKind(): Promise<PostgresServer['kind']> {
  serverPromise ??= pickServer();
  return (await serverPromise).kind;
}

async function pickServer(): Promise<PostgresServer> {
  const forced = process.env.STARMINER_TEST_POSTGRES;
  if (forced === 'embedded') return startEmbedded();
  if ((await testInfraMode()) === 'containers') return containerServer();
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) {
    try {
      await withClient(fromEnv, (c) => c.query('SELECT 1'));
    } catch (cause) {
      throw new TestInfraError('POSTGRES_UNAVAILABLE', `DATABASE_URL is set but its server does not answer: ${String(cause)}`, { cause });
    }
    return { adminUrl: fromEnv, kind: 'DATABASE_URL' };
  }
  if (await reachable(LOCAL_POSTGRES_URL)) return { adminUrl: LOCAL_POSTGRES_URL, kind: 'local' };
  return startEmbedded();
}

/** The run's Postgres container when `npm test` started one, else one for this process (Ryuk removes it). */
async function containerServer(): Promise<PostgresServer> {
  const { startPostgresContainer, TEST_POSTGRES_CONTAINER_URL_ENV } = await import('./containers');
  const shared = process.env[TEST_POSTGRES_CONTAINER_URL_ENV];
  if (!shared) return { adminUrl: (await startPostgresContainer()).adminUrl, kind: 'container' };
  try {
    await withClient(shared, (c) => c.query('SELECT 1'));
  } catch (cause) {
    throw new TestInfraError('POSTGRES_UNAVAILABLE', `the run's Postgres container (${TEST_POSTGRES_CONTAINER_URL_ENV}) does not answer: ${String(cause)}`, { cause });
  }
  return { adminUrl: shared, kind: 'container' };
}

async function reachable(url: string): Promise<boolean> {
  try {
    await withClient(url, (c) => c.query('SELECT 1'), POSTGRES_PROBE_TIMEOUT_MS);
    return true;
  } catch {
    return false;
  }
}

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>, timeoutMs = POSTGRES_ADMIN_TIMEOUT_MS): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * The child script that runs one embedded Postgres cluster (see its header for the protocol): the
 * tests' throw-away clusters and the stack's supervised persistent one.
 */
export const EMBEDDED_POSTGRES_CHILD = join(__dirname, 'embedded-postgres.child.mjs');

/** Starts embedded Postgres in a child process (see embedded-postgres.child.mjs for why). */
async function startEmbedded(): Promise<PostgresServer> {
  const root = await mkdtemp(join(tmpdir(), 'starminer-pg-'));
  // When we run as root, Postgres runs as the `postgres` user and must be able to reach its data dir.
  await chmod(root, 0o755);
  const dataDir = join(root, 'data');
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const child = spawn(process.execPath, [EMBEDDED_POSTGRES_CHILD, dataDir, String(port), password], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    if (stderr.length < 10_000) stderr += s;
  });
  try {
    await waitReady(child, () => stderr);
  } catch (err) {
    child.kill('SIGKILL');
    await rm(root, { recursive: true, force: true });
    throw err;
  }
  // Closing stdin (on exit, or when the worker dies) makes the child stop Postgres.
  process.once('exit', () => {
    child.stdin?.end();
  });
  child.unref();
  (child.stdout as unknown as { unref?: () => void })?.unref?.();
  (child.stderr as unknown as { unref?: () => void })?.unref?.();
  (child.stdin as unknown as { unref?: () => void })?.unref?.();
  embeddedChild = { child, root };
  return { adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, kind: 'embedded' };
}

let embeddedChild: { child: ChildProcess; root: string } | undefined;

/** Stops the embedded Postgres of this process, if one was started (optional: it stops on exit). */
export async function stopEmbeddedPostgres(): Promise<void> {
  if (!embeddedChild) return;
  const { child, root } = embeddedChild;
  embeddedChild = undefined;
  serverPromise = undefined;
  await killAndWait(child, EMBEDDED_STOP_TIMEOUT_MS).catch(() => undefined);
  await rm(root, { recursive: true, force: true });
}

function waitReady(child: ChildProcess, stderr: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new TestInfraError('POSTGRES_START_FAILED', `embedded Postgres did not start within ${EMBEDDED_POSTGRES_START_TIMEOUT_MS} ms: ${stderr()}`)),
      EMBEDDED_POSTGRES_START_TIMEOUT_MS,
    );
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      clearTimeout(timer);
      lines.close();
      let msg: { ready?: boolean; error?: string };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        msg = { error: line };
      }
      if (msg.ready) resolve();
      else reject(new TestInfraError('POSTGRES_START_FAILED', `embedded Postgres failed: ${msg.error} ${stderr()}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new TestInfraError('POSTGRES_START_FAILED', `embedded Postgres helper exited (code ${code}): ${stderr()}`));
    });
  });
}
