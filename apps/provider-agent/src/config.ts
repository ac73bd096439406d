import { z } from 'zod';
import { LIMITS } from '@starminer/events';
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
  /** How long the start-up benchmark runs. */
  BENCHMARK_MS: z.coerce.number().int().min(100).max(60_000).default(1_000),
  LOG_LEVEL: logLevelSchema,
  /** `pretty` (pino-pretty, a dev dependency) in the dev stack only: JSON lines everywhere else. */
  LOG_FORMAT: logFormatSchema,
});

export type AgentConfig = z.output<typeof agentConfigSchema>;

export function loadAgentConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const parsed = agentConfigSchema.safeParse(env);
  if (!parsed.success) throw new AgentConfigError(`provider-agent configuration is invalid:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
