import { createPublicClient, createWalletClient, defineChain, http, type Account, type Chain } from 'viem';
import type { ChainPublicClient, ChainWalletClient } from './types';

export function localChain(rpcUrl: string, chainId: number): Chain {
  return defineChain({
    id: chainId,
    name: `starminer-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

/** A public client and a wallet client per account, on one RPC (tests, tools). */
export function createChainClients(rpcUrl: string, chainId: number) {
  const chain = localChain(rpcUrl, chainId);
  const transport = http(rpcUrl, { retryCount: 2, timeout: 15_000 });
  const publicClient: ChainPublicClient = createPublicClient({ chain, transport, pollingInterval: 100 });
  const wallet = (account: Account): ChainWalletClient => createWalletClient({ account, chain, transport, pollingInterval: 100 });
  return { chain, publicClient, wallet };
}
