import { existsSync } from 'node:fs';
import { aptInstall, isDebianLike, isRoot, ToolMissing } from '../stack/system-packages';

/**
 * The browser the console's test drives (playwright-core, headless): the system's Chromium, never a
 * downloaded one. In order:
 *   1. CHROMIUM_BIN, when set (must exist);
 *   2. /usr/bin/chromium, /usr/bin/chromium-browser;
 *   3. on Debian/Ubuntu as root: `apt-get install -y chromium` (after `apt-get update` if the
 *      first try fails);
 *   4. otherwise ChromiumMissing with the exact line to run.
 */
export const CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser'] as const;

export class ChromiumMissing extends ToolMissing {
  override readonly name = 'ChromiumMissing';
  constructor(message: string, installLine: string) {
    super('CHROMIUM_MISSING', message, installLine);
  }
}

export function chromiumInstallLine(): string {
  if (isDebianLike()) return `${isRoot() ? '' : 'sudo '}apt-get install -y chromium`;
  return 'install Chromium from your system packages and set CHROMIUM_BIN to its path';
}

const found = (): string | undefined => CHROMIUM_PATHS.find((p) => existsSync(p));

/** The Chromium binary to run (see the top of this file for where it comes from). */
export function ensureChromium(log: (line: string) => void = (l) => console.log(l)): string {
  const fromEnv = process.env.CHROMIUM_BIN;
  if (fromEnv) {
    if (existsSync(fromEnv)) return fromEnv;
    throw new ChromiumMissing(`CHROMIUM_BIN=${fromEnv} does not exist`, chromiumInstallLine());
  }
  const present = found();
  if (present) return present;
  if (!(isDebianLike() && isRoot())) throw new ChromiumMissing(`no Chromium at ${CHROMIUM_PATHS.join(' or ')}. Install it with:\n  ${chromiumInstallLine()}`, chromiumInstallLine());
  const status = aptInstall('chromium', log);
  const installed = found();
  if (installed) return installed;
  throw new ChromiumMissing(`apt-get install chromium did not install it (exit ${status})`, chromiumInstallLine());
}
