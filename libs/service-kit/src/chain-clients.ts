import { createPublicClient, createWalletClient, defineChain, http, type Account, type Chain, type PublicClient, type WalletClient, type Transport } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { ChainConfig } from './config';

export function chainOf(config: Pick<ChainConfig, 'RPC_URL' | 'CHAIN_ID'>): Chain {
  return defineChain({
    id: config.CHAIN_ID,
    name: `starminer-${config.CHAIN_ID}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [config.RPC_URL] } },
  });
}

export function publicClientFor(config: Pick<ChainConfig, 'RPC_URL' | 'CHAIN_ID'>): PublicClient<Transport, Chain> {
  return createPublicClient({ chain: chainOf(config), transport: http(config.RPC_URL, { retryCount: 3, timeout: 15_000 }) });
}

export function walletClientFor(config: Pick<ChainConfig, 'RPC_URL' | 'CHAIN_ID'>, privateKey: `0x${string}`): WalletClient<Transport, Chain, Account> {
  return createWalletClient({ account: privateKeyToAccount(privateKey), chain: chainOf(config), transport: http(config.RPC_URL, { retryCount: 3, timeout: 15_000 }) });
}
