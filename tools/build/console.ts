import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const REPO_ROOT = resolve(__dirname, '..', '..');
/** Where `npm run build:console` puts the web console, and where the stack's gateway serves it from (CONSOLE_DIR). */
export const CONSOLE_BUILD_DIR = join(REPO_ROOT, 'dist', 'console');
const CONSOLE_SOURCES = [join(REPO_ROOT, 'apps', 'console'), join(REPO_ROOT, 'libs', 'sdk', 'src')];
/** Files a staleness check looks at before it gives up and rebuilds. */
const SOURCE_FILES_MAX = 5_000;

/** The newest modification time under these folders (tests and the build's own output excluded), in ms. */
function newestSourceMs(dirs: readonly string[]): number {
  let newest = 0;
  let seen = 0;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (++seen > SOURCE_FILES_MAX) return;
      if (entry.name === 'node_modules' || entry.name === 'test') continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const d of dirs) if (existsSync(d)) walk(d);
  return seen > SOURCE_FILES_MAX ? Number.POSITIVE_INFINITY : newest;
}

/** Whether the console's build is missing or older than its sources (the console's and the SDK's). */
export function consoleBuildStale(outDir = CONSOLE_BUILD_DIR): boolean {
  const index = join(outDir, 'index.html');
  if (!existsSync(index)) return true;
  return newestSourceMs(CONSOLE_SOURCES) > statSync(index).mtimeMs;
}

/** Builds the web console (vite) into outDir when it is missing or stale; returns whether it built. */
export function ensureConsoleBuilt(log: (line: string) => void, outDir = CONSOLE_BUILD_DIR): boolean {
  if (!consoleBuildStale(outDir)) return false;
  log(`[console] building the web console into ${outDir} (vite build)`);
  const vite = join(REPO_ROOT, 'node_modules', '.bin', 'vite');
  const r = spawnSync(vite, ['build', '--config', join(REPO_ROOT, 'apps', 'console', 'vite.config.mts'), '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], { cwd: REPO_ROOT, stdio: ['ignore', 2, 2], timeout: 300_000 });
  if (r.status !== 0) throw new Error(`vite build of the console failed (exit ${r.status ?? r.signal}); run npm run build:console to see why`);
  return true;
}
