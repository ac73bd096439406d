import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { runAudit } from '../audit';

const ROOT = resolve(__dirname, '../../..');
const CHILD_BUFFER_BYTES = 64 * 1024 * 1024;

export interface AuditRunResult {
  readonly code: number;
  /** The summary line (`{"audit":...,"ok":...}`), parsed. */
  readonly summary: Record<string, unknown>;
  /** Progress and differences (JSON lines with --json). */
  readonly stderr: string;
  /** The differences the command printed (from its --json stderr lines). */
  readonly differences: { subject: string; message: string; expected?: unknown; actual?: unknown }[];
}

/** Runs one audit command line in this process with `env` as its environment and `--json`; answers its exit code, summary and stderr. */
export async function audit(env: Record<string, string>, args: readonly string[]): Promise<AuditRunResult> {
  let out = '';
  let err = '';
  const code = await runAudit([...args, '--json'], {
    stdout: { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream,
    stderr: { write: (s: string) => ((err += s), true) } as unknown as NodeJS.WritableStream,
    env,
  });
  const last = out.trim().split('\n').pop() ?? '{}';
  const differences = err
    .split('\n')
    .filter((l) => l.startsWith('{"difference"'))
    .map((l) => (JSON.parse(l) as { difference: AuditRunResult['differences'][number] }).difference);
  return { code, summary: JSON.parse(last) as Record<string, unknown>, stderr: err, differences };
}

/**
 * `npm run audit -- <args> --json` as a child process, for commands that load ES modules jest
 * cannot (report's hyparquet-writer); answers its exit code, summary and stderr.
 */
export async function auditChild(env: Record<string, string>, args: readonly string[]): Promise<Omit<AuditRunResult, 'differences'>> {
  const child = await promisify(execFile)(process.execPath, ['-r', './tools/stack/register.cjs', 'tools/audit/main.ts', ...args, '--json'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    maxBuffer: CHILD_BUFFER_BYTES,
  }).then(
    (r) => ({ code: 0, ...r }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
  );
  const last = child.stdout.trim().split('\n').pop() ?? '';
  if (!last.startsWith('{')) throw new Error(`audit ${args.join(' ')} answered no summary line (exit ${child.code}): ${child.stderr}`);
  return { code: child.code, summary: JSON.parse(last) as Record<string, unknown>, stderr: child.stderr };
}
