import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { resultHashOf, runBuiltInWorkload, type WorkloadResult } from '@starminer/domain';
import type { WorkloadSpec } from '@starminer/sdk';
import { containerRunArgs, IMAGE_REFERENCE, killContainer, type ContainerRuntime } from './containers/engine';

/** A command never runs longer than this, whatever the job says. */
export const COMMAND_TIMEOUT_MS_MAX = 15 * 60_000;
/** stdout + stderr kept from a command; more kills it (maxBuffer). */
export const COMMAND_OUTPUT_BYTES_MAX = 1024 * 1024;
/** The gateway takes at most this many characters of output with a result. */
export const RESULT_OUTPUT_CHARS_MAX = 10_000;

export class WorkloadRefused extends Error {
  override readonly name = 'WorkloadRefused';
  constructor(
    readonly code: 'COMMAND_RUNTIME_DISABLED' | 'CONTAINER_IMAGE_UNSUPPORTED' | 'CONTAINER_IMAGE_INVALID',
    message: string,
  ) {
    super(message);
  }
}

export class WorkloadFailed extends Error {
  override readonly name = 'WorkloadFailed';
  constructor(
    readonly code: 'COMMAND_TIMEOUT' | 'COMMAND_OUTPUT_TOO_LARGE' | 'COMMAND_SPAWN_FAILED' | 'CONTAINER_ENGINE_FAILED' | 'BUILT_IN_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface RuntimeOptions {
  /** ENABLE_COMMAND_RUNTIME: off unless the provider turns it on. */
  commandRuntime: boolean;
  /** A command's (and a container's) timeout, at most COMMAND_TIMEOUT_MS_MAX. */
  commandTimeoutMs?: number;
  /**
   * The container runtime (ENABLE_CONTAINER_RUNTIME, and an engine found at start): workloads
   * with an image run in it. Absent: they are refused.
   */
  container?: ContainerRuntime;
  /** The job the workload is for: names its container (`starminer-<jobId>`). */
  jobId?: string;
  /**
   * Run built-ins on a worker thread (the agent does), so the heartbeats go on during a long job.
   * The worker inherits the process's flags (`--import tsx` or the stack's `--require` hook) to
   * load TypeScript; `workerExecArgv` overrides them.
   */
  builtInOnWorker?: boolean;
  workerExecArgv?: string[];
}

/**
 * Hash chains longer than this run on a worker thread. Shorter ones (about 5 s at 200k hashes/s,
 * well inside the registry's 30 s heartbeat timeout) run in-process: a worker costs a few seconds
 * to start, since it loads the TypeScript of the domain library again.
 */
export const HASH_CHAIN_IN_PROCESS_MAX = 1_000_000;

/** Whether a built-in workload is long enough to need a worker thread (matmul tops out at size 512: under a second). */
export const runsLong = (workload: WorkloadSpec): boolean => workload.kind === 'hash-chain' && workload.iterations > HASH_CHAIN_IN_PROCESS_MAX;

/** A built-in never runs longer than this on a worker (the largest allowed hash chain takes minutes). */
export const BUILT_IN_TIMEOUT_MS_MAX = 60 * 60_000;
/** The worker file beside this one, of this one's kind: workload.worker.ts from source, .js when built. */
const WORKER_FILE = join(__dirname, `workload.worker${extname(__filename)}`);
/** Built (`npm run build`, the image): the worker is plain JavaScript and starts as it is, no hook. */
const WORKER_COMPILED = WORKER_FILE.endsWith('.js');
/**
 * From source, the worker's entry, eval'd: it requires the .ts worker file (a .ts entry file would go to the ESM
 * loader, which a CommonJS require hook does not reach). A worker inherits the process's flags but
 * not always their effect, so the entry tries in turn: a plain require (a hook is there: jest with
 * explicit flags), the parent's `--require` preloads then require (the stack's SWC hook), and
 * tsx's CommonJS hook then require (`npx tsx`: its loader does not reach worker threads).
 */
const WORKER_ENTRY = `
const { workerData } = require('node:worker_threads');
const file = ${JSON.stringify(WORKER_FILE)};
const notTypeScriptReady = (err) => err instanceof SyntaxError || err.code === 'ERR_UNKNOWN_FILE_EXTENSION';
(async () => {
  try {
    return require(file); // a CommonJS .ts hook is active in this thread
  } catch (err) {
    if (!notTypeScriptReady(err)) throw err;
  }
  try {
    for (const p of workerData.preloads) require(p); // the stack's --require hook, not run in workers
    delete require.cache[file];
    return require(file);
  } catch (err) {
    if (!notTypeScriptReady(err)) throw err;
  }
  // tsx: neither its --import loader nor its require hook reaches a worker thread; register it here.
  require('tsx/cjs/api').register();
  delete require.cache[file];
  return require(file);
})().catch((err) => { throw err; });
`;

/** The `--require`/`-r` modules among node's flags. */
export function preloadsOf(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i += 1) {
    const a = execArgv[i];
    if ((a === '--require' || a === '-r') && i + 1 < execArgv.length) out.push(execArgv[++i]);
    else if (a.startsWith('--require=')) out.push(a.slice('--require='.length));
  }
  return out;
}

/** Refuses what this node will not run, before it starts the job. Undefined when it can run it. */
export function refusalOf(workload: WorkloadSpec, opts: RuntimeOptions): WorkloadRefused | undefined {
  if (workload.kind !== 'command') return undefined;
  if (workload.image !== undefined) {
    // the market routes an image only to nodes that registered `container`; this is the last guard
    if (!opts.container)
      return new WorkloadRefused('CONTAINER_IMAGE_UNSUPPORTED', `this node has no container runtime for image ${workload.image} (set ENABLE_CONTAINER_RUNTIME=true with Docker or Podman installed)`);
    if (!IMAGE_REFERENCE.test(workload.image)) return new WorkloadRefused('CONTAINER_IMAGE_INVALID', `not an image reference: ${workload.image}`);
    return undefined;
  }
  if (!opts.commandRuntime)
    return new WorkloadRefused('COMMAND_RUNTIME_DISABLED', 'this node does not run command workloads (set ENABLE_COMMAND_RUNTIME=true to allow them)');
  return undefined;
}

/** Runs a workload: built-ins in-process, commands (when enabled) as a child process, images in a container, each with a timeout and an output limit. */
export async function runWorkload(workload: WorkloadSpec, opts: RuntimeOptions): Promise<WorkloadResult> {
  const refusal = refusalOf(workload, opts);
  if (refusal) throw refusal;
  if (workload.kind === 'command') {
    const timeoutMs = Math.min(opts.commandTimeoutMs ?? COMMAND_TIMEOUT_MS_MAX, COMMAND_TIMEOUT_MS_MAX);
    if (workload.image !== undefined && opts.container) {
      const run = { jobId: opts.jobId ?? randomUUID(), image: workload.image, command: workload.command, network: workload.network };
      return runContainer(opts.container, run, timeoutMs);
    }
    return runCommand(workload.command, timeoutMs);
  }
  try {
    if (opts.builtInOnWorker) return await onWorker(workload, opts.workerExecArgv);
    return runBuiltInWorkload(workload);
  } catch (cause) {
    throw new WorkloadFailed('BUILT_IN_FAILED', `built-in workload ${workload.kind} failed: ${(cause as Error).message}`, { cause });
  }
}

function onWorker(workload: WorkloadSpec, execArgv: string[] | undefined): Promise<WorkloadResult> {
  return new Promise((resolve, reject) => {
    const options = { workerData: { workload, preloads: preloadsOf(process.execArgv) }, ...(execArgv ? { execArgv } : {}) };
    const worker = WORKER_COMPILED ? new Worker(WORKER_FILE, options) : new Worker(WORKER_ENTRY, { eval: true, ...options });
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`built-in workload ran over ${BUILT_IN_TIMEOUT_MS_MAX} ms`));
    }, BUILT_IN_TIMEOUT_MS_MAX);
    worker.once('message', (result: WorkloadResult) => {
      clearTimeout(timer);
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    worker.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`workload worker exited with code ${code} before answering`));
    });
  });
}

/**
 * The output is `{ exitCode, stdout, stderr }` as JSON (truncated to what the gateway accepts);
 * the proof hash covers the command and its full, untruncated transcript.
 */
async function runCommand(command: string[], timeoutMs: number): Promise<WorkloadResult> {
  const [file, ...args] = command;
  return commandResultOf(command, await execCaptured(file, args, timeoutMs));
}

/**
 * A workload with an image: `<engine> run ...` (containers/engine.ts) as a command, its result as
 * a command's (the proof hash covers the full run command, limits included). After a timeout or
 * too much output the engine's client is killed but the container may run on: `<engine> kill`.
 */
/** The exit code Docker and Podman give when the engine, not the container's command, failed. */
export const CONTAINER_ENGINE_ERROR_EXIT = 125;

export async function runContainer(
  runtime: ContainerRuntime,
  run: Parameters<typeof containerRunArgs>[1],
  timeoutMs: number,
  kill: (runtime: ContainerRuntime, jobId: string) => Promise<void> = killContainer,
): Promise<WorkloadResult> {
  const args = containerRunArgs(runtime, run);
  try {
    const captured = await execCaptured(runtime.path, args, timeoutMs);
    // 125: the engine itself failed (the image could not be pulled, no GPU support, a bad flag),
    // not the workload: this node could not run it, which is not a result (the job is given up and
    // matched again elsewhere). 126/127 and the rest are the image's command's own exit codes.
    if (captured.exitCode === CONTAINER_ENGINE_ERROR_EXIT) {
      throw new WorkloadFailed('CONTAINER_ENGINE_FAILED', `${runtime.engine} could not run the container: ${captured.stderr.split('\n').find((l) => l.trim()) ?? 'exit 125'}`.slice(0, 500));
    }
    return commandResultOf([runtime.engine, ...args], captured);
  } catch (err) {
    if (err instanceof WorkloadFailed && err.code !== 'COMMAND_SPAWN_FAILED') await kill(runtime, run.jobId);
    throw err;
  }
}

interface Captured {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a program (no shell) with a timeout and an output limit; a non-zero exit is an answer, not an error. */
function execCaptured(file: string, args: string[], timeoutMs: number): Promise<Captured> {
  return new Promise<Captured>((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: COMMAND_OUTPUT_BYTES_MAX, killSignal: 'SIGKILL', encoding: 'utf8', windowsHide: true }, (err, out, errOut) => {
      if (!err) return resolve({ exitCode: 0, stdout: out, stderr: errOut });
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string; signal?: string };
      if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return reject(new WorkloadFailed('COMMAND_OUTPUT_TOO_LARGE', `output exceeded ${COMMAND_OUTPUT_BYTES_MAX} bytes`, { cause: err }));
      if (e.killed || e.signal === 'SIGKILL') return reject(new WorkloadFailed('COMMAND_TIMEOUT', `command ran over ${timeoutMs} ms and was killed`, { cause: err }));
      if (typeof e.code === 'number') return resolve({ exitCode: e.code, stdout: out, stderr: errOut });
      reject(new WorkloadFailed('COMMAND_SPAWN_FAILED', `could not run ${file}: ${err.message}`, { cause: err }));
    });
  });
}

function commandResultOf(command: readonly string[], { exitCode, stdout, stderr }: Captured): WorkloadResult {
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
