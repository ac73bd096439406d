import { execFile } from 'node:child_process';
import { z } from 'zod';

/**
 * Container workloads (issue 17): a `command` workload with an `image` runs in a container through
 * Docker or Podman, when the provider turns the runtime on (ENABLE_CONTAINER_RUNTIME) and the
 * agent finds an engine at start.
 */
export const CONTAINER_ENGINES = ['docker', 'podman'] as const;
export type ContainerEngineKind = (typeof CONTAINER_ENGINES)[number];

/** How long `<engine> version` may take (a hung daemon must not hang the agent's start). */
export const CONTAINER_VERSION_TIMEOUT_MS = 10_000;
/** The most `<engine> version --format json` may print. */
export const CONTAINER_VERSION_OUTPUT_BYTES_MAX = 256 * 1024;
/** How long the best-effort `<engine> kill` after a timeout may take. */
export const CONTAINER_KILL_TIMEOUT_MS = 10_000;

/** Resource limits of one container: defaults, overridden by CONTAINER_MEMORY_MIB, CONTAINER_CPUS, CONTAINER_PIDS_MAX. */
export const CONTAINER_MEMORY_MIB_DEFAULT = 4_096;
export const CONTAINER_CPUS_DEFAULT = 2;
export const CONTAINER_PIDS_MAX_DEFAULT = 256;
/** The largest CONTAINER_MEMORY_MIB the agent takes (4 TiB). */
export const CONTAINER_MEMORY_MIB_MAX = 4 * 1024 * 1024;

export interface ContainerLimits {
  memoryMiB: number;
  cpus: number;
  pidsMax: number;
}

export const DEFAULT_CONTAINER_LIMITS: ContainerLimits = {
  memoryMiB: CONTAINER_MEMORY_MIB_DEFAULT,
  cpus: CONTAINER_CPUS_DEFAULT,
  pidsMax: CONTAINER_PIDS_MAX_DEFAULT,
};

/** Runs `<engine>` with arguments and answers what it printed (a port: specs answer with sample text). */
export interface ContainerEngineCli {
  run(args: readonly string[]): Promise<string>;
}

/** The real engine CLI, through execFile (no shell), with a timeout and bounded output. */
export function execContainerEngine(path: string, timeoutMs = CONTAINER_VERSION_TIMEOUT_MS, maxBuffer = CONTAINER_VERSION_OUTPUT_BYTES_MAX): ContainerEngineCli {
  return {
    run: (args) =>
      new Promise((resolve, reject) => {
        execFile(path, [...args], { timeout: timeoutMs, maxBuffer, encoding: 'utf8', windowsHide: true }, (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          const e = err as NodeJS.ErrnoException & { killed?: boolean };
          const why = e.code === 'ENOENT' ? 'not found' : e.killed ? `timed out after ${timeoutMs} ms` : (stderr || e.message).trim().split('\n')[0];
          reject(new Error(`${path} ${args.join(' ')} failed: ${why}`, { cause: err }));
        });
      }),
  };
}

/** The engine the agent found: what it runs containers with. */
export interface DetectedEngine {
  engine: ContainerEngineKind;
  /** the engine's (server's, where it has one) version */
  version: string;
  apiVersion?: string;
}

const versionPart = z.looseObject({ Version: z.string().min(1), ApiVersion: z.string().optional(), APIVersion: z.string().optional() });
/** `docker version --format json` and `podman version --format json`: Docker's needs a Server (no daemon: null); Podman's local one has only a Client. */
const versionJson = z.looseObject({ Client: versionPart.nullish(), Server: versionPart.nullish() });

/** The engine's version from its `version --format json` output; null when the output says the engine cannot run containers. */
export function engineVersionOf(engine: ContainerEngineKind, text: string): DetectedEngine | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = versionJson.safeParse(json);
  if (!parsed.success) return null;
  // Docker runs containers through its daemon: without a Server, the client alone cannot
  const part = engine === 'docker' ? parsed.data.Server : (parsed.data.Server ?? parsed.data.Client);
  if (!part) return null;
  const apiVersion = part.ApiVersion ?? part.APIVersion;
  return { engine, version: part.Version, ...(apiVersion ? { apiVersion } : {}) };
}

/** What detection found: the engine, or why none (logged at start). */
export type EngineDetection = { found: DetectedEngine } | { found: null; reasons: string[] };

/**
 * Looks for the engine CONTAINER_ENGINE names (`auto`: Docker, then Podman): the first whose
 * `version --format json` answers with a version it can run containers with.
 */
export async function detectContainerEngine(choice: ContainerEngineKind | 'auto', cliFor: (engine: ContainerEngineKind) => ContainerEngineCli): Promise<EngineDetection> {
  const reasons: string[] = [];
  for (const engine of choice === 'auto' ? CONTAINER_ENGINES : [choice]) {
    try {
      const found = engineVersionOf(engine, await cliFor(engine).run(['version', '--format', 'json']));
      if (found) return { found };
      reasons.push(`${engine}: its version output names no engine that can run containers`);
    } catch (err) {
      reasons.push((err as Error).message);
    }
  }
  return { found: null, reasons };
}

/** A container's name: `starminer-<jobId>`, in the characters engines accept. */
export function containerNameOf(jobId: string): string {
  return `starminer-${jobId.replace(/[^A-Za-z0-9_.-]/g, '-')}`.slice(0, 128);
}

/**
 * An image reference the engine reads as an image and never as an option: name, optional tag and
 * digest, in the characters references use (so a workload cannot smuggle `--privileged` in).
 */
export const IMAGE_REFERENCE = /^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/;

export interface ContainerRun {
  jobId: string;
  image: string;
  command: readonly string[];
  /** the job asked for a network; default none */
  network?: boolean;
}

/** How this node runs containers: the engine found at start, its limits, and whether its GPUs go in. */
export interface ContainerRuntime {
  engine: ContainerEngineKind;
  /** the engine's executable (a path, or a name on PATH) */
  path: string;
  limits: ContainerLimits;
  /** pass the node's GPUs through (a node with GPUs; not AGENT_CPU_ONLY) */
  gpus: boolean;
}

/**
 * `<engine> run` for one job: removed when done, named for the job, no network unless asked,
 * memory, CPU and process limits, a read-only root, no new privileges, no capabilities, and the
 * node's GPUs when it has them (Docker: `--gpus all`; Podman: the NVIDIA CDI device).
 */
export function containerRunArgs(runtime: Pick<ContainerRuntime, 'engine' | 'limits' | 'gpus'>, run: ContainerRun): string[] {
  const { limits } = runtime;
  const args = ['run', '--rm', '--name', containerNameOf(run.jobId)];
  if (!run.network) args.push('--network', 'none');
  args.push('--memory', `${limits.memoryMiB}m`, '--cpus', String(limits.cpus), '--pids-limit', String(limits.pidsMax));
  args.push('--read-only', '--security-opt', 'no-new-privileges', '--cap-drop', 'ALL');
  if (runtime.gpus) args.push(...(runtime.engine === 'docker' ? ['--gpus', 'all'] : ['--device', 'nvidia.com/gpu=all']));
  args.push(run.image, ...run.command);
  return args;
}

/** Stops a container by name, best effort (after a timeout: the engine's client was killed, the container may still run). */
export function killContainer(runtime: Pick<ContainerRuntime, 'path'>, jobId: string, cli: ContainerEngineCli = execContainerEngine(runtime.path, CONTAINER_KILL_TIMEOUT_MS)): Promise<void> {
  return cli.run(['kill', containerNameOf(jobId)]).then(
    () => undefined,
    () => undefined,
  );
}
