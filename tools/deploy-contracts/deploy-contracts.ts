import { getAddress, isAddress, zeroAddress, type Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createChainClients, deployMarket, type MarketAddresses } from '@starminer/chain';
import { z } from 'zod';
import type { ConfigMapStore } from './kube-configmap';

/** The key of the ConfigMap the services read MARKET_ADDRESSES from. */
export const MARKET_ADDRESSES_KEY = 'MARKET_ADDRESSES';

const roleAddress = (name: string) =>
  z
    .string()
    .refine((s) => isAddress(s, { strict: false }), `${name} must be a 0x-prefixed address`)
    .refine((s) => s.toLowerCase() !== zeroAddress, `${name} is the zero address: set the role's address in starminer-config`)
    .transform((s) => getAddress(s));

// the Job imports no service framework: zod alone, as libs/service-kit/src/config.ts does it
const privateKeySchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'a 0x-prefixed 32-byte private key')
  .transform((s) => s as `0x${string}`);

export const deployContractsConfigSchema = z.object({
  RPC_URL: z.string().url(),
  CHAIN_ID: z.coerce.number().int().positive(),
  ADMIN_PRIVATE_KEY: privateKeySchema,
  DEPLOYER_ADDRESS: roleAddress('DEPLOYER_ADDRESS'),
  SETTLEMENT_ADDRESS: roleAddress('SETTLEMENT_ADDRESS'),
  MINTER_ADDRESS: roleAddress('MINTER_ADDRESS'),
  MARKET_CONFIGMAP: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).default('starminer-market'),
});
export type DeployContractsConfig = z.output<typeof deployContractsConfigSchema>;

export class DeployContractsError extends Error {
  override readonly name = 'DeployContractsError';
  constructor(
    readonly code: 'CONFIG_INVALID' | 'CHAIN_STATE_LOST' | 'RECORDED_ADDRESSES_UNREADABLE',
    message: string,
  ) {
    super(message);
  }
}

export type DeployOutcome = { readonly action: 'kept' | 'deployed'; readonly addresses: MarketAddresses };

const CONTRACT_KEYS = ['token', 'escrow', 'staking', 'vaults', 'anchor'] as const;

/**
 * Deploys the market once and publishes its addresses. When the store already holds addresses
 * whose contracts all have code on this chain it does nothing; when it holds addresses without
 * code it refuses (the chain lost its state, or points elsewhere): deploying again would start a
 * second market beside the one the log speaks of. The operator decides (docs/OPERATIONS.md).
 */
export async function deployContractsOnce(config: DeployContractsConfig, store: ConfigMapStore, log: (line: string) => void = () => undefined): Promise<DeployOutcome> {
  const { publicClient, wallet } = createChainClients(config.RPC_URL, config.CHAIN_ID);
  const recorded = (await store.read())?.[MARKET_ADDRESSES_KEY];
  if (recorded !== undefined) {
    let addresses: MarketAddresses;
    try {
      addresses = JSON.parse(recorded) as MarketAddresses;
    } catch {
      throw new DeployContractsError('RECORDED_ADDRESSES_UNREADABLE', `${config.MARKET_CONFIGMAP}.${MARKET_ADDRESSES_KEY} is not JSON: ${recorded.slice(0, 200)}`);
    }
    const present = CONTRACT_KEYS.filter((k) => addresses[k] !== undefined);
    if (!present.includes('token') || !present.includes('escrow')) {
      throw new DeployContractsError('RECORDED_ADDRESSES_UNREADABLE', `${config.MARKET_CONFIGMAP}.${MARKET_ADDRESSES_KEY} has no token or escrow address`);
    }
    for (const key of present) {
      const code = await publicClient.getCode({ address: addresses[key] as Address });
      if (!code || code === '0x') {
        throw new DeployContractsError(
          'CHAIN_STATE_LOST',
          `the chain ${config.CHAIN_ID} has no contract at ${key} ${addresses[key]} recorded in ${config.MARKET_CONFIGMAP}: its state was lost or RPC_URL points elsewhere. Delete the ConfigMap to deploy a fresh market.`,
        );
      }
    }
    log(`[deploy-contracts] the market is deployed (${present.join(', ')} have code): nothing to do`);
    return { action: 'kept', addresses };
  }
  const admin = privateKeyToAccount(config.ADMIN_PRIVATE_KEY);
  const addresses = await deployMarket(wallet(admin), publicClient, {
    admin: admin.address,
    deployer: config.DEPLOYER_ADDRESS,
    settlement: config.SETTLEMENT_ADDRESS,
    minter: config.MINTER_ADDRESS,
  });
  await store.write({ [MARKET_ADDRESSES_KEY]: JSON.stringify(addresses) });
  log(`[deploy-contracts] deployed the market and published it in ${config.MARKET_CONFIGMAP}: ${JSON.stringify(addresses)}`);
  return { action: 'deployed', addresses };
}

/** The Job's configuration, failing at start with every missing or malformed variable named. */
export function loadDeployContractsConfig(env: NodeJS.ProcessEnv = process.env): DeployContractsConfig {
  const parsed = deployContractsConfigSchema.safeParse(env);
  if (!parsed.success) throw new DeployContractsError('CONFIG_INVALID', `configuration is invalid:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
