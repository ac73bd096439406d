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
});
export type DeployerConfig = z.output<typeof deployerConfigSchema>;
