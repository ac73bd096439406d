import { getAddress, getContractAddress, isAddress, zeroAddress, type Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { artifacts, createChainClients, deployMarket, waitForSuccess, type ChainPublicClient, type ChainWalletClient, type MarketAddresses } from '@starminer/chain';
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
    readonly code: 'CONFIG_INVALID' | 'CHAIN_STATE_LOST' | 'RECORDED_ADDRESSES_UNREADABLE' | 'DEPLOY_INCOMPLETE' | 'PUBLISHED_CONCURRENTLY' | 'CONFIGMAP_CONTENDED',
    message: string,
  ) {
    super(message);
  }
}

export type DeployOutcome = { readonly action: 'kept' | 'deployed' | 'recovered'; readonly addresses: MarketAddresses };

/** deployMarket creates these in this order, one transaction each from the admin: their addresses follow from the admin's nonce. */
const CONTRACT_KEYS = ['token', 'escrow', 'staking', 'vaults', 'anchor'] as const;
/** The key of the claim a run writes before it sends any transaction. */
export const DEPLOYING_KEY = 'DEPLOYING';
/** How often a run re-reads the ConfigMap after another writer changed it under it. */
const CONTENDED_ATTEMPTS_MAX = 3;

const claimSchema = z.object({
  admin: z.string().refine((s) => isAddress(s, { strict: false })),
  chainId: z.number().int().positive(),
  nonce: z.number().int().nonnegative(),
  block: z.number().int().nonnegative(),
});
/** What a run records before its first transaction: from it a retry finds the contracts the run created. */
export type DeployClaim = z.output<typeof claimSchema>;

/** Where deployMarket's contracts are when the admin's first transaction has `nonce`. */
export function expectedAddresses(admin: Address, nonce: number): Record<(typeof CONTRACT_KEYS)[number], Address> {
  return Object.fromEntries(CONTRACT_KEYS.map((k, i) => [k, getContractAddress({ from: admin, nonce: BigInt(nonce + i) })])) as Record<(typeof CONTRACT_KEYS)[number], Address>;
}

/**
 * Deploys the market once and publishes its addresses in the ConfigMap, safe to run again after a
 * failure at any step and beside another run:
 * - addresses already published: kept when all have code; refused (CHAIN_STATE_LOST) when not, since
 *   deploying again would start a second market beside the one the log speaks of;
 * - nothing published: the run first claims the ConfigMap (the admin, its next nonce, the block), so
 *   an API or RBAC failure stops it before any gas is spent; then deploys; then publishes on the
 *   claim's resourceVersion, so a publication made meanwhile is never overwritten;
 * - a claim without addresses (an earlier run died between claim and publication): the contracts
 *   it made are at the addresses the admin's nonces give; all there with code: published without a
 *   transaction; none sent: deployed; anything between: refused (DEPLOY_INCOMPLETE), for the operator.
 */
export async function deployContractsOnce(config: DeployContractsConfig, store: ConfigMapStore, log: (line: string) => void = () => undefined): Promise<DeployOutcome> {
  const { publicClient, wallet } = createChainClients(config.RPC_URL, config.CHAIN_ID);
  const admin = privateKeyToAccount(config.ADMIN_PRIVATE_KEY);
  const where = `${config.MARKET_CONFIGMAP}.${MARKET_ADDRESSES_KEY}`;
  for (let attempt = 1; attempt <= CONTENDED_ATTEMPTS_MAX; attempt++) {
    const current = await store.read();
    if (current?.data[MARKET_ADDRESSES_KEY] !== undefined) return keepPublished(config, publicClient, current.data[MARKET_ADDRESSES_KEY], log);

    let claim: DeployClaim;
    let claimVersion: string;
    const recorded = current?.data[DEPLOYING_KEY];
    if (recorded !== undefined) {
      claim = parseClaim(config, recorded, admin.address);
      claimVersion = current!.resourceVersion;
      const sent = (await publicClient.getTransactionCount({ address: admin.address, blockTag: 'pending' })) - claim.nonce;
      if (sent !== 0) {
        const recovered = await recoverClaimed(config, publicClient, wallet(admin), claim, sent);
        if (!(await store.update({ [MARKET_ADDRESSES_KEY]: JSON.stringify(recovered) }, claimVersion))) return refusePublished(config, store, recovered, log);
        log(`[deploy-contracts] an earlier run deployed the market and died before publishing it: published ${JSON.stringify(recovered)} from its claim, no transaction sent`);
        return { action: 'recovered', addresses: recovered };
      }
      log(`[deploy-contracts] an earlier run claimed ${config.MARKET_CONFIGMAP} and sent nothing: deploying`);
    } else {
      // claim first: the API's refusals (RBAC, a bad token, a ConfigMap changed meanwhile) come before any gas is spent
      claim = {
        admin: admin.address,
        chainId: config.CHAIN_ID,
        nonce: await publicClient.getTransactionCount({ address: admin.address, blockTag: 'pending' }),
        block: Number(await publicClient.getBlockNumber()),
      };
      const data = { [DEPLOYING_KEY]: JSON.stringify(claim) };
      const claimed = current === undefined ? await store.create(data) : await store.update(data, current.resourceVersion);
      if (!claimed) {
        log(`[deploy-contracts] ${config.MARKET_CONFIGMAP} changed while claiming it: reading it again`);
        continue;
      }
      const after = await store.read();
      if (after?.data[DEPLOYING_KEY] !== data[DEPLOYING_KEY]) continue;
      claimVersion = after.resourceVersion;
    }
    const addresses = await deployMarket(wallet(admin), publicClient, {
      admin: admin.address,
      deployer: config.DEPLOYER_ADDRESS,
      settlement: config.SETTLEMENT_ADDRESS,
      minter: config.MINTER_ADDRESS,
    });
    if (!(await store.update({ [MARKET_ADDRESSES_KEY]: JSON.stringify(addresses) }, claimVersion))) return refusePublished(config, store, addresses, log);
    log(`[deploy-contracts] deployed the market and published it in ${where}: ${JSON.stringify(addresses)}`);
    return { action: 'deployed', addresses };
  }
  throw new DeployContractsError('CONFIGMAP_CONTENDED', `${config.MARKET_CONFIGMAP} changed under this run ${CONTENDED_ATTEMPTS_MAX} times: another writer is at work; run the Job again once it is done`);
}

async function keepPublished(config: DeployContractsConfig, publicClient: ChainPublicClient, recorded: string, log: (line: string) => void): Promise<DeployOutcome> {
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

function parseClaim(config: DeployContractsConfig, recorded: string, admin: Address): DeployClaim {
  let claim: DeployClaim;
  try {
    claim = claimSchema.parse(JSON.parse(recorded));
  } catch {
    throw new DeployContractsError('RECORDED_ADDRESSES_UNREADABLE', `${config.MARKET_CONFIGMAP}.${DEPLOYING_KEY} is not a claim: ${recorded.slice(0, 200)}`);
  }
  if (getAddress(claim.admin) !== admin || claim.chainId !== config.CHAIN_ID) {
    throw new DeployContractsError(
      'DEPLOY_INCOMPLETE',
      `${config.MARKET_CONFIGMAP}.${DEPLOYING_KEY} was claimed by admin ${claim.admin} on chain ${claim.chainId}, this run is ${admin} on ${config.CHAIN_ID}: run with that key and chain, or delete the ConfigMap to deploy a fresh market`,
    );
  }
  return claim;
}

/**
 * The market an earlier run made after its claim: deployMarket's five creations took the admin's
 * nonces claim.nonce .. +4, so their addresses are known; then the vaults' FUNDER_ROLE grant.
 * Sound only when all five are there: a part, or other transactions from the admin key in between,
 * is the operator's call.
 */
async function recoverClaimed(config: DeployContractsConfig, publicClient: ChainPublicClient, walletClient: ChainWalletClient, claim: DeployClaim, sent: number): Promise<Required<MarketAddresses>> {
  const expected = expectedAddresses(claim.admin as Address, claim.nonce);
  const missing: string[] = [];
  for (const key of CONTRACT_KEYS) {
    const code = await publicClient.getCode({ address: expected[key] });
    if (!code || code === '0x') missing.push(`${key} ${expected[key]}`);
  }
  if (missing.length > 0) {
    throw new DeployContractsError(
      'DEPLOY_INCOMPLETE',
      `an earlier run claimed ${config.MARKET_CONFIGMAP} at the admin's nonce ${claim.nonce} and sent ${sent} transaction(s) since, but the market is incomplete (no code at ${missing.join(', ')}). ` +
        `Nothing was published, so no service uses these contracts. To deploy a fresh market: kubectl -n <namespace> delete configmap ${config.MARKET_CONFIGMAP}, then run the Job again (docs/OPERATIONS.md).`,
    );
  }
  // the last step of deployMarket: the vaults fund contracts from the escrow
  const { ComputeEscrow } = artifacts();
  const funderRole = await publicClient.readContract({ address: expected.escrow, abi: ComputeEscrow.abi, functionName: 'FUNDER_ROLE' });
  const granted = await publicClient.readContract({ address: expected.escrow, abi: ComputeEscrow.abi, functionName: 'hasRole', args: [funderRole, expected.vaults] });
  if (!granted) {
    const { request } = await publicClient.simulateContract({ account: walletClient.account, address: expected.escrow, abi: ComputeEscrow.abi, functionName: 'grantRole', args: [funderRole, expected.vaults] });
    await waitForSuccess(publicClient, await walletClient.writeContract(request), 'grant FUNDER_ROLE');
  }
  return { ...expected, deployBlock: claim.block };
}

/** Another run published while this one worked: its publication stands; the same addresses are fine. */
async function refusePublished(config: DeployContractsConfig, store: ConfigMapStore, ours: MarketAddresses, log: (line: string) => void): Promise<DeployOutcome> {
  const now = (await store.read())?.data[MARKET_ADDRESSES_KEY];
  if (now !== undefined) {
    const theirs = JSON.parse(now) as MarketAddresses;
    if (CONTRACT_KEYS.every((k) => theirs[k] === ours[k])) {
      log(`[deploy-contracts] another run published the same market meanwhile: nothing to do`);
      return { action: 'kept', addresses: theirs };
    }
  }
  throw new DeployContractsError(
    'PUBLISHED_CONCURRENTLY',
    `${config.MARKET_CONFIGMAP} changed while this run deployed (${now === undefined ? 'its claim was replaced' : `another run published ${now}`}); it is left as it is. ` +
      `The contracts this run made (${JSON.stringify(ours)}) are not used: check that only one contracts Job runs.`,
  );
}

/** The Job's configuration, failing at start with every missing or malformed variable named. */
export function loadDeployContractsConfig(env: NodeJS.ProcessEnv = process.env): DeployContractsConfig {
  const parsed = deployContractsConfigSchema.safeParse(env);
  if (!parsed.success) throw new DeployContractsError('CONFIG_INVALID', `configuration is invalid:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
