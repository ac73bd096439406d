import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { platform } from 'node:os';

/** What the stack and the tests install from the system's packages when missing (nats-server, Chromium). */
export const isDebianLike = (): boolean => platform() === 'linux' && existsSync('/etc/debian_version') && existsSync('/usr/bin/apt-get');
export const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** A program the stack or the tests need and could not find or install; `installLine` is the exact command for this machine. */
export class ToolMissing extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly installLine: string,
  ) {
    super(message);
  }
}

/**
 * `apt-get install -y <pkg>`, after `apt-get update` when the first try fails; its output goes to
 * stderr (callers capture a binary's path from stdout, as .ci/run does). Returns the exit status.
 */
export function aptInstall(pkg: string, log: (line: string) => void): number | null {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', pkg], { stdio: ['ignore', 2, 2], env }).status;
  log(`[${pkg}] not installed; installing it: apt-get install -y ${pkg}`);
  let status = install();
  if (status !== 0) {
    log(`[${pkg}] apt-get install failed; refreshing the package lists (apt-get update) and trying again`);
    spawnSync('apt-get', ['update'], { stdio: ['ignore', 2, 2], env });
    status = install();
  }
  return status;
}
