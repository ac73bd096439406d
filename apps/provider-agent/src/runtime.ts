import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { resultHashOf, runBuiltInWorkload, type WorkloadResult } from '@starminer/domain';
import type { WorkloadSpec } from '@starminer/sdk';

/** A command never runs longer than this, whatever the job says. */
export const COMMAND_TIMEOUT_MS_MAX = 15 * 60_000;
/** stdout + stderr kept from a command; more kills it (maxBuffer). */
export const COMMAND_OUTPUT_BYTES_MAX = 1024 * 1024;
/** The gateway takes at most this many characters of output with a result. */
export const RESULT_OUTPUT_CHARS_MAX = 10_000;

export class WorkloadRefused extends Error {
  override readonly name = 'WorkloadRefused';
  constructor(
    readonly code: 'COMMAND_RUNTIME_DISABLED' | 'CONTAINER_IMAGE_UNSUPPORTED',
    message: string,
  ) {
    super(message);
  }
}

export class WorkloadFailed extends Error {
  override readonly name = 'WorkloadFailed';
  constructor(
    readonly code: 'COMMAND_TIMEOUT' | 'COMMAND_OUTPUT_TOO_LARGE' | 'COMMAND_SPAWN_FAILED' | 'BUILT_IN_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface RuntimeOptions {
  /** ENABLE_COMMAND_RUNTIME: off unless the provider turns it on. */
  commandRuntime: boolean;
  commandTimeoutMs?: number;
}

/** Refuses what this node will not run, before it starts the job. Undefined when it can run it. */
export function refusalOf(workload: WorkloadSpec, opts: RuntimeOptions): WorkloadRefused | undefined {
  if (workload.kind !== 'command') return undefined;
  if (!opts.commandRuntime)
    return new WorkloadRefused('COMMAND_RUNTIME_DISABLED', 'this node does not run command workloads (set ENABLE_COMMAND_RUNTIME=true to allow them)');
  if (workload.image)
    return new WorkloadRefused('CONTAINER_IMAGE_UNSUPPORTED', `this node runs commands on the host and has no container runtime for image ${workload.image}`);
  return undefined;
}

/** Runs a workload: built-ins in-process, commands (when enabled) as a child process with a timeout and an output limit. */
export async function runWorkload(workload: WorkloadSpec, opts: RuntimeOptions): Promise<WorkloadResult> {
  const refusal = refusalOf(workload, opts);
  if (refusal) throw refusal;
  if (workload.kind === 'command') return runCommand(workload.command, Math.min(opts.commandTimeoutMs ?? COMMAND_TIMEOUT_MS_MAX, COMMAND_TIMEOUT_MS_MAX));
  try {
    return runBuiltInWorkload(workload);
  } catch (cause) {
    throw new WorkloadFailed('BUILT_IN_FAILED', `built-in workload ${workload.kind} failed: ${(cause as Error).message}`, { cause });
  }
}

/**
 * The output is `{ exitCode, stdout, stderr }` as JSON (truncated to what the gateway accepts);
 * the proof hash covers the command and its full, untruncated transcript.
 */
async function runCommand(command: string[], timeoutMs: number): Promise<WorkloadResult> {
  const [file, ...args] = command;
  const { exitCode, stdout, stderr } = await new Promise<{ exitCode: number; stdout: string; stderr: string }>((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: COMMAND_OUTPUT_BYTES_MAX, killSignal: 'SIGKILL', encoding: 'utf8', windowsHide: true }, (err, out, errOut) => {
      if (!err) return resolve({ exitCode: 0, stdout: out, stderr: errOut });
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string; signal?: string };
      if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return reject(new WorkloadFailed('COMMAND_OUTPUT_TOO_LARGE', `output exceeded ${COMMAND_OUTPUT_BYTES_MAX} bytes`, { cause: err }));
      if (e.killed || e.signal === 'SIGKILL') return reject(new WorkloadFailed('COMMAND_TIMEOUT', `command ran over ${timeoutMs} ms and was killed`, { cause: err }));
      if (typeof e.code === 'number') return resolve({ exitCode: e.code, stdout: out, stderr: errOut });
      reject(new WorkloadFailed('COMMAND_SPAWN_FAILED', `could not run ${file}: ${err.message}`, { cause: err }));
    });
  });
  const transcript = JSON.stringify({ command, exitCode, stdout, stderr });
  const output = boundedOutput(exitCode, stdout, stderr);
  return { output, resultHash: resultHashOf(output), proofHash: `0x${createHash('sha256').update(transcript).digest('hex')}` };
}

function boundedOutput(exitCode: number, stdout: string, stderr: string): string {
  let keepOut = stdout;
  let keepErr = stderr;
  let text = JSON.stringify({ exitCode, stdout: keepOut, stderr: keepErr });
  while (text.length > RESULT_OUTPUT_CHARS_MAX) {
    const over = text.length - RESULT_OUTPUT_CHARS_MAX;
    if (keepErr.length > 0) keepErr = keepErr.slice(Math.min(keepErr.length, over)); // keep the tail: errors end there
    else keepOut = keepOut.slice(Math.min(keepOut.length, over));
    text = JSON.stringify({ exitCode, stdout: keepOut, stderr: keepErr, truncated: true });
  }
  return text;
}
