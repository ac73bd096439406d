import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { platform } from 'node:os';
import { join, resolve } from 'node:path';
import { aptInstall, isDebianLike, isRoot, ToolMissing } from './system-packages';

/**
 * Finding a nats-server for the stack and the tests. The trade log's consumers filter on several
 * subjects at once, which needs nats-server 2.10 or later; Debian 12's package is 2.9.10. So:
 *   1. NATS_SERVER_BIN, when set (must be >= 2.10);
 *   2. a binary fetched earlier into node_modules/.cache/starminer (see 4);
 *   3. `nats-server` on PATH when it is >= 2.10;
 *   4. on Debian/Ubuntu as root: `apt-get install -y nats-server` when none is on PATH, and when
 *      that one is older than 2.10, Debian 13's (trixie) nats-server package is downloaded with
 *      apt-get and unpacked into the cache above (a static Go binary; the system is not changed);
 *   5. otherwise NatsServerMissing with the exact line to run.
 */
export const NATS_SERVER_VERSION_MIN = [2, 10, 0] as const;
export const NATS_RELEASES_URL = 'https://github.com/nats-io/nats-server/releases';
/** The Debian suite whose nats-server is new enough (2.10.x). */
export const DEBIAN_NATS_SUITE = 'trixie';
const REPO_ROOT = resolve(__dirname, '..', '..');
export const NATS_CACHE_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'starminer', 'nats-server');
const CACHED_BINARY = join(NATS_CACHE_DIR, 'root', 'usr', 'sbin', 'nats-server');

/** Why the stack or the tests cannot get a nats-server. */
export class NatsServerMissing extends ToolMissing {
  override readonly name = 'NatsServerMissing';
  constructor(message: string, installLine: string) {
    super('NATS_SERVER_MISSING', message, installLine);
  }
}

/** The version a binary reports (`nats-server: v2.10.27`), or undefined when it does not run. */
export function natsServerVersion(binary: string): [number, number, number] | undefined {
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return undefined;
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(`${r.stdout}${r.stderr}`);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function isRecentEnough(v: readonly number[]): boolean {
  for (let i = 0; i < 3; i += 1) {
    if (v[i] !== NATS_SERVER_VERSION_MIN[i]) return v[i] > NATS_SERVER_VERSION_MIN[i];
  }
  return true;
}

const MIN_TEXT = NATS_SERVER_VERSION_MIN.join('.');

/** The install line for this machine. */
export function natsInstallLine(): string {
  if (isDebianLike()) return `${isRoot() ? '' : 'sudo '}apt-get install -y nats-server   (and, if that gives a version below ${MIN_TEXT}, run this again as root to fetch Debian ${DEBIAN_NATS_SUITE}'s build)`;
  if (platform() === 'darwin') return 'brew install nats-server';
  return `download nats-server ${MIN_TEXT} or later from ${NATS_RELEASES_URL} and put it on PATH (or set NATS_SERVER_BIN)`;
}

/** The nats-server binary to run (see the top of this file for where it comes from). */
export function ensureNatsServer(log: (line: string) => void = (l) => console.log(l)): string {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) {
    const v = natsServerVersion(fromEnv);
    if (v && isRecentEnough(v)) return fromEnv;
    throw new NatsServerMissing(`NATS_SERVER_BIN=${fromEnv} ${v ? `is ${v.join('.')}, below ${MIN_TEXT}` : 'does not run'}`, natsInstallLine());
  }
  const cached = natsServerVersion(CACHED_BINARY);
  if (cached && isRecentEnough(cached)) return CACHED_BINARY;

  let onPath = natsServerVersion('nats-server');
  if (onPath && isRecentEnough(onPath)) return 'nats-server';

  if (!(isDebianLike() && isRoot())) {
    const what = onPath ? `nats-server on PATH is ${onPath.join('.')}; the trade log needs ${MIN_TEXT} or later` : 'nats-server was not found on PATH';
    throw new NatsServerMissing(`${what}. Install it with:\n  ${natsInstallLine()}`, natsInstallLine());
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!onPath) {
    aptInstall('nats-server', log);
    onPath = natsServerVersion('nats-server');
    if (onPath && isRecentEnough(onPath)) return 'nats-server';
  }
  log(`[nats] nats-server ${onPath?.join('.') ?? '(none)'} is below ${MIN_TEXT}; fetching Debian ${DEBIAN_NATS_SUITE}'s nats-server package into ${NATS_CACHE_DIR}`);
  fetchDebianBuild(env);
  const fetched = natsServerVersion(CACHED_BINARY);
  if (fetched && isRecentEnough(fetched)) {
    log(`[nats] using ${CACHED_BINARY} (${fetched.join('.')})`);
    return CACHED_BINARY;
  }
  throw new NatsServerMissing(`could not get nats-server ${MIN_TEXT} or later`, natsInstallLine());
}

/** apt-get download from a private source list (the system's lists and sources are untouched), then dpkg-deb -x. */
function fetchDebianBuild(env: NodeJS.ProcessEnv): void {
  rmSync(NATS_CACHE_DIR, { recursive: true, force: true });
  const lists = join(NATS_CACHE_DIR, 'lists');
  mkdirSync(join(lists, 'partial'), { recursive: true });
  const sourceList = join(NATS_CACHE_DIR, 'sources.list');
  writeFileSync(sourceList, `deb http://deb.debian.org/debian ${DEBIAN_NATS_SUITE} main\n`);
  const aptOpts = ['-o', `Dir::Etc::sourcelist=${sourceList}`, '-o', 'Dir::Etc::sourceparts=-', '-o', `Dir::State::Lists=${lists}`, '-o', 'APT::Sandbox::User=root'];
  const run = (cmd: string, args: string[], cwd?: string): void => {
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env, cwd });
    if (r.status !== 0) throw new NatsServerMissing(`${cmd} ${args.join(' ')} failed (exit ${r.status})`, natsInstallLine());
  };
  run('apt-get', [...aptOpts, 'update']);
  run('apt-get', [...aptOpts, 'download', 'nats-server'], NATS_CACHE_DIR);
  const deb = readdirSync(NATS_CACHE_DIR).find((f) => f.startsWith('nats-server_') && f.endsWith('.deb'));
  if (!deb) throw new NatsServerMissing('apt-get download produced no nats-server .deb', natsInstallLine());
  run('dpkg-deb', ['-x', join(NATS_CACHE_DIR, deb), join(NATS_CACHE_DIR, 'root')]);
}
