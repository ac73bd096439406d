import { z } from 'zod';
import { NODE_HEARTBEAT_TIMEOUT_MS } from '@starminer/domain';
import { baseConfigSchema, chainConfigSchema, type ChainConfig } from '@starminer/service-kit';

/**
 * A node silent for less than a second is not silent: heartbeats travel through the gateway and
 * the bus, and a shorter timeout would flap nodes offline under ordinary latency.
 */
export const NODE_TIMEOUT_MS_MIN = 1_000;
/** A node silent for an hour is offline by any measure; past it, matching would route jobs to dead nodes. */
export const NODE_TIMEOUT_MS_MAX = 3_600_000;

/**
 * Whether the environment names a chain: then the registry learns stake from the staking
 * contract (and readiness checks the chain); without one, stake is what registrations say.
 */
export const chainConfigured = (env: NodeJS.ProcessEnv): boolean => Boolean(env.RPC_URL && env.MARKET_ADDRESSES);

/**
 * The registry's configuration: the log and its schema, how long a node may be silent before it
 * is marked offline, and, optionally, the chain (both RPC_URL and MARKET_ADDRESSES set: then every
 * chain variable is checked, and a malformed one fails the boot naming it).
 */
export const registryConfigSchema = baseConfigSchema
  .extend({
    REGISTRY_NODE_TIMEOUT_MS: z.coerce.number().int().min(NODE_TIMEOUT_MS_MIN).max(NODE_TIMEOUT_MS_MAX).default(NODE_HEARTBEAT_TIMEOUT_MS),
    RPC_URL: z.string().optional(),
    CHAIN_ID: z.string().optional(),
    MARKET_ADDRESSES: z.string().optional(),
  })
  .transform(({ RPC_URL, CHAIN_ID, MARKET_ADDRESSES, ...base }, ctx) => {
    if (!chainConfigured({ RPC_URL, MARKET_ADDRESSES })) return { ...base, chain: undefined as ChainConfig | undefined };
    const parsed = chainConfigSchema.safeParse({ RPC_URL, CHAIN_ID, MARKET_ADDRESSES });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
      return z.NEVER;
    }
    return { ...base, chain: parsed.data as ChainConfig | undefined };
  });

export type RegistryConfig = z.output<typeof registryConfigSchema>;
