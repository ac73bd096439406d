import type { Address } from 'viem';
import { ChainActionError } from './errors';
import type { MarketAddresses } from './types';

export function requireAddress(addresses: MarketAddresses, key: 'staking' | 'vaults' | 'anchor'): Address {
  const address = addresses[key];
  if (!address) throw new ChainActionError('ContractNotDeployed', `market has no ${key} contract (redeploy with deployMarket)`);
  return address;
}
