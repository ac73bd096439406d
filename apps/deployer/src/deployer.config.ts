import { z } from 'zod';
import { baseConfigSchema, chainConfigSchema, privateKeySchema } from '@starminer/service-kit';

/**
 * The deployer holds keys: the deployer role (opens contracts, posts anchors), the minter (the dev
 * faucet) and the mnemonic of the orgs' custodial accounts. Each is checked at boot.
 */
export const deployerConfigSchema = baseConfigSchema.extend(chainConfigSchema.shape).extend({
  DEPLOYER_PRIVATE_KEY: privateKeySchema,
  MINTER_PRIVATE_KEY: privateKeySchema,
  CUSTODY_MNEMONIC: z.string().refine((s) => s.trim().split(/\s+/).length >= 12, 'a BIP-39 mnemonic of at least 12 words'),
  /** How often the log is anchored on chain. */
  ANCHOR_INTERVAL_MS: z.coerce.number().int().min(1_000).max(24 * 3600_000).default(60_000),
  /**
   * How long after its match an open is re-driven before the reconciler reads the chain and records
   * the outcome: opened, or ContractOpenFailed OPEN_TIMED_OUT (which frees the job's GPUs and budget).
   */
  DEPLOYER_OPEN_GIVE_UP_MS: z.coerce.number().int().min(1_000).max(7 * 24 * 3600_000).default(600_000),
  /** How often the open reconciler runs (pending opens, then the chain-vs-log check of recorded opens). */
  DEPLOYER_OPEN_RECONCILE_MS: z.coerce.number().int().min(100).max(3600_000).default(5_000),
  /** The first retry delay of an open; it doubles per attempt up to OPEN_RETRY_DELAY_MS_MAX. */
  DEPLOYER_OPEN_RETRY_BASE_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  /** How long a recorded open the chain lost is retried (the requester's funds may come back with a re-mint) before ChainEffectLost. */
  DEPLOYER_OPEN_RESTORE_GIVE_UP_MS: z.coerce.number().int().min(1_000).max(7 * 24 * 3600_000).default(600_000),
});
export type DeployerConfig = z.output<typeof deployerConfigSchema>;
