import { privateKeyToAccount } from 'viem/accounts';
import { createChainClients, type ChainPublicClient, type ChainWalletClient } from '@starminer/chain';
import type { ChainConfig } from './config';

type ChainAccess = Pick<ChainConfig, 'RPC_URL' | 'CHAIN_ID'> & Partial<Pick<ChainConfig, 'CHAIN_CONFIRMATIONS'>>;

export function publicClientFor(config: ChainAccess): ChainPublicClient {
  return createChainClients(config.RPC_URL, config.CHAIN_ID, { confirmations: config.CHAIN_CONFIRMATIONS }).publicClient;
}

export function walletClientFor(config: ChainAccess, privateKey: `0x${string}`): ChainWalletClient {
  return createChainClients(config.RPC_URL, config.CHAIN_ID).wallet(privateKeyToAccount(privateKey));
}
