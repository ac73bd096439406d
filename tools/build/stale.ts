/**
 * Whether dist/ is older than the sources it is built from: a stack started from dist/ after a source
 * edit would otherwise run the old build without a word. The build is incremental and rewrites
 * dist/.tsbuildinfo whenever it emits, so that file's time is the last build's.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DIST_DIR, REPO_ROOT } from './layout';

/** The build's record: its modification time is when dist/ last changed. */
export const BUILD_INFO = join(DIST_DIR, '.tsbuildinfo');
/** The walk stops after this many entries: the repo has a few thousand sources; more means a stray tree. */
export const STALE_WALK_ENTRIES_MAX = 50_000;
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'coverage', '.git', '.nx']);
const SOURCE = /\.(ts|mts|cts|json)$/;

/**
 * The first source under `roots` (apps/, libs/) modified after `since` (ms), relative to `base`,
 * or undefined. Bounded: past STALE_WALK_ENTRIES_MAX entries it answers what it found so far.
 */
export function newerSource(since: number, roots: readonly string[] = [join(REPO_ROOT, 'apps'), join(REPO_ROOT, 'libs')], base = REPO_ROOT): string | undefined {
  const stack = [...roots].filter((r) => existsSync(r));
  let seen = 0;
  while (stack.length > 0 && seen < STALE_WALK_ENTRIES_MAX) {
    const dir = stack.pop()!;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      seen += 1;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) stack.push(full);
      } else if (SOURCE.test(entry.name) && !entry.name.endsWith('.spec.ts') && statSync(full).mtimeMs > since) {
        return relative(base, full);
      }
    }
  }
  return undefined;
}

/** Why dist/ cannot be trusted (no build record, or a source newer than it), or undefined when it is current. */
export function distStaleness(buildInfo = BUILD_INFO, roots?: readonly string[], base?: string): string | undefined {
  if (!existsSync(buildInfo)) return `${relative(base ?? REPO_ROOT, buildInfo)} is missing`;
  const newer = newerSource(statSync(buildInfo).mtimeMs, roots, base);
  return newer === undefined ? undefined : `${newer} changed after the last build`;
}
