import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Argv } from 'yargs';
import type { Io } from '../shared/context';
import { UsageError } from '../shared/errors';

/** Folders above the CLI searched for the checkout that holds the audit tool (source: apps/cli/src/audit; built: apps/cli/dist). */
const CHECKOUT_DEPTH_MAX = 6;
const AUDIT_MAIN = join('tools', 'audit', 'main.ts');
const REGISTER_HOOK = join('tools', 'stack', 'register.cjs');

/** The StarMiner checkout this CLI runs from, if it is one (the audit replays the log with the services' own code, which ships with the source). */
export function auditCheckout(from: string = __dirname): string | undefined {
  let dir = from;
  for (let i = 0; i < CHECKOUT_DEPTH_MAX; i += 1) {
    if (existsSync(join(dir, AUDIT_MAIN)) && existsSync(join(dir, REGISTER_HOOK))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
  return undefined;
}

/**
 * `starminer audit <command> ...`: the auditor's kit (docs/AUDIT.md), the same program and exit
 * codes as `npm run audit -- <command> ...` (0 passed, 1 a check failed, 2 usage, 3 a source could
 * not be read). It runs the checkout's audit tool as a child process: the tool needs the services'
 * projection code, NATS, Postgres and the chain client, which the CLI's package does not carry.
 */
export async function runAuditTool(args: readonly string[], io: Io, from?: string): Promise<number> {
  const root = auditCheckout(from);
  if (!root) {
    throw new UsageError(
      'AUDIT_NEEDS_CHECKOUT',
      "starminer audit runs the audit tool of a StarMiner checkout (it rebuilds the read models with the services' own code): run it from one (npm ci there), or `npm run audit -- <command>` in it",
    );
  }
  const own = io.stdout === process.stdout && io.stderr === process.stderr;
  const child = spawn(process.execPath, ['-r', join(root, REGISTER_HOOK), join(root, AUDIT_MAIN), ...args], {
    cwd: root,
    env: { ...io.env } as NodeJS.ProcessEnv,
    // the process's own terminal when it has one (the progress bar), else piped into the streams the CLI was given
    stdio: own ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  });
  if (!own) {
    child.stdout?.pipe(io.stdout, { end: false });
    child.stderr?.pipe(io.stderr, { end: false });
  }
  const interrupt = (): void => void child.kill('SIGINT');
  io.signal.addEventListener('abort', interrupt, { once: true });
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 3)));
    });
  } finally {
    io.signal.removeEventListener('abort', interrupt);
  }
}

/** The command as `starminer --help` lists it; what follows `audit` goes to the audit tool untouched. */
export function auditCommand(io: Io, args: readonly string[], done: (code: number) => void) {
  return {
    command: 'audit <command> [args..]',
    describe: "the auditor's read-only kit: replay, matching, chain, anchors, prove, report (docs/AUDIT.md; run from a StarMiner checkout)",
    builder: (y: Argv) => y.strict(false).help(false).version(false).positional('command', { type: 'string', describe: 'replay | matching | chain | anchors | prove | report (audit --help lists them)' }),
    handler: async () => done(await runAuditTool(args.slice(args.indexOf('audit') + 1), io)),
  };
}
