import { spawn } from 'node:child_process';

/** How long one CLI run into a closed pipe may take before the spec calls it hung. */
export const CLOSED_PIPE_RUN_TIMEOUT_MS = 30_000;

/**
 * `starminer args... | head -0`: runs `command` with the CLI's arguments and a stdout whose reader
 * is gone before the CLI writes, so its first write fails with EPIPE. Answers the exit code and
 * stderr; a run past the timeout is killed and fails.
 */
export function runIntoClosedPipe(
  command: string,
  args: readonly string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; label: readonly string[]; timeoutMs?: number },
): Promise<{ code: number | null; stderr: string }> {
  const timeoutMs = opts.timeoutMs ?? CLOSED_PIPE_RUN_TIMEOUT_MS;
  return new Promise((done, fail) => {
    const child = spawn(command, [...args], { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`starminer ${opts.label.join(' ')} ran past ${timeoutMs} ms\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stderr });
    });
    child.stdin.end();
  });
}
