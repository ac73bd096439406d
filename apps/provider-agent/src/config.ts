import { z } from 'zod';
import { attestationFormatSchema, LIMITS } from '@starminer/events';
import { CONTAINER_CPUS_DEFAULT, CONTAINER_ENGINES, CONTAINER_MEMORY_MIB_DEFAULT, CONTAINER_MEMORY_MIB_MAX, CONTAINER_PIDS_MAX_DEFAULT } from './containers/engine';
import { logFormatSchema, logLevelSchema } from './logging';

export class AgentConfigError extends Error {
  override readonly name = 'AgentConfigError';
  readonly code = 'CONFIG_INVALID';
}

const bool = z.enum(['true', 'false', '1', '0']).transform((s) => s === 'true' || s === '1');

/** The agent's environment (docs/SERVICE-CONTRACT.md); a missing or malformed value stops it at boot. */
export const agentConfigSchema = z.object({
  GATEWAY_URL: z.string().url(),
  /** The market's chain: every request to the gateway is signed for it and GATEWAY_URL's origin (the gateway refuses another deployment's). */
  CHAIN_ID: z.coerce.number().int().positive(),
  AGENT_KEY_FILE: z.string().min(1),
  /** Where finished job ids are kept across restarts; default `<AGENT_KEY_FILE>.done.json`. */
  AGENT_STATE_FILE: z.string().min(1).optional(),
  AGENT_NAME: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('agent'),
  GPU_MODEL: z.string().min(1).max(LIMITS.gpuModelLengthMax),
  /** GPUs on this node: at most the catalogue's limit (a larger machine registers as several nodes). */
  GPU_COUNT: z.coerce.number().int().min(1).max(LIMITS.gpusPerNodeMax).default(1),
  VRAM_GIB: z.coerce.number().int().min(1).max(LIMITS.vramGiBMax),
  REGION: z.string().min(1).max(LIMITS.regionLengthMax),
  LATENCY_MS: z.coerce.number().int().min(0).max(LIMITS.latencyMsMax).default(20),
  TEE: bool.default(false),
  CARBON_G_PER_KWH: z.coerce.number().min(0).max(LIMITS.carbonGPerKwhMax).default(300),
  RENEWABLE_SHARE: z.coerce.number().min(0).max(1).default(0.3),
  ENABLE_COMMAND_RUNTIME: bool.default(false),
  /**
   * Node sessions (issue 13): one signed login an hour, then a session token on every call, so the
   * gateway checks a MAC instead of a signature and writes no nonce per call. `false` signs every
   * call (a gateway from before sessions is detected and signed for anyway).
   */
  NODE_SESSIONS: bool.default(true),
  /**
   * Run workloads with an image in a container (Docker or Podman, found at start). Off unless the
   * provider turns it on; on without an engine found, the agent says so and does not register `container`.
   */
  ENABLE_CONTAINER_RUNTIME: bool.default(false),
  /** Which engine: `auto` tries Docker, then Podman. */
  CONTAINER_ENGINE: z.enum(['auto', ...CONTAINER_ENGINES]).default('auto'),
  /** The engine's executable (a path, or a name on PATH), with CONTAINER_ENGINE=docker or podman; default the engine's name. */
  CONTAINER_ENGINE_PATH: z.string().min(1).optional(),
  /** One container's limits: memory (MiB), CPUs, processes. */
  CONTAINER_MEMORY_MIB: z.coerce.number().int().min(16).max(CONTAINER_MEMORY_MIB_MAX).default(CONTAINER_MEMORY_MIB_DEFAULT),
  CONTAINER_CPUS: z.coerce.number().positive().max(1024).default(CONTAINER_CPUS_DEFAULT),
  CONTAINER_PIDS_MAX: z.coerce.number().int().min(1).max(1_000_000).default(CONTAINER_PIDS_MAX_DEFAULT),
  /**
   * Run without GPUs: nothing is detected and the declared profile above is registered as it is
   * (the tests' and the demo's agents). Off, the agent reads its GPUs with nvidia-smi at start and
   * refuses to start without any, or when they disagree with GPU_MODEL, GPU_COUNT, VRAM_GIB or TEE.
   */
  AGENT_CPU_ONLY: bool.default(false),
  /** The nvidia-smi the agent runs (a path, or a name on PATH). */
  NVIDIA_SMI_PATH: z.string().min(1).default('nvidia-smi'),
  /** With GPUs: the python (with torch and CUDA) that runs the matmul benchmark (src/hardware/gpu-benchmark.ts); when it cannot, the CPU figure is registered. */
  GPU_BENCHMARK_PYTHON: z.string().min(1).default('python3'),
  /** How long the start-up benchmark runs. */
  BENCHMARK_MS: z.coerce.number().int().min(100).max(60_000).default(1_000),
  LOG_LEVEL: logLevelSchema,
  /** `pretty` (pino-pretty, a dev dependency) in the dev stack only: JSON lines everywhere else. */
  LOG_FORMAT: logFormatSchema,
  /**
   * A TEE node's attestation source: an executable run as `<command> <nonce>` for each job (the
   * job's nonce, 64 hex characters) that prints the TEE's report, e.g. a script around NVIDIA's
   * attestation SDK printing NRAS's token. Submitted with the result; only with TEE=true.
   */
  ATTESTATION_COMMAND: z.string().min(1).optional(),
  /** The format of what ATTESTATION_COMMAND prints: the verifier settlement reads it with. */
  ATTESTATION_FORMAT: attestationFormatSchema.default('nvidia-nras-eat'),
  /** How long one run of ATTESTATION_COMMAND may take before it is killed (NRAS answers in seconds). */
  ATTESTATION_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(120_000),
})
  .refine((c) => c.ATTESTATION_COMMAND === undefined || c.TEE, { path: ['ATTESTATION_COMMAND'], message: 'an attestation source is for a TEE node: set TEE=true, or leave ATTESTATION_COMMAND unset' })
  .refine((c) => c.CONTAINER_ENGINE_PATH === undefined || c.CONTAINER_ENGINE !== 'auto', { path: ['CONTAINER_ENGINE_PATH'], message: 'a path is one engine\'s: set CONTAINER_ENGINE=docker or podman with it' });

export type AgentConfig = z.output<typeof agentConfigSchema>;

export function loadAgentConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const parsed = agentConfigSchema.safeParse(env);
  if (!parsed.success) throw new AgentConfigError(`provider-agent configuration is invalid:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
