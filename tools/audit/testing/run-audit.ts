import { runAudit } from '../audit';

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
