import { createPublicClient, createWalletClient, defineChain, http, type Account, type Chain } from 'viem';
import { setFinalityDepth } from './receipts';
import type { ChainPublicClient, ChainWalletClient } from './types';

export function localChain(rpcUrl: string, chainId: number): Chain {
  return defineChain({
    id: chainId,
    name: `starminer-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

/** A public client (with its finality depth, see receipts.ts) and a wallet client per account, on one RPC. */
export function createChainClients(rpcUrl: string, chainId: number, opts: { confirmations?: number } = {}) {
  const chain = localChain(rpcUrl, chainId);
  const transport = http(rpcUrl, { retryCount: 2, timeout: 15_000 });
  const publicClient: ChainPublicClient = createPublicClient({ chain, transport, pollingInterval: 100 });
  setFinalityDepth(publicClient, opts.confirmations ?? 0);
  const wallet = (account: Account): ChainWalletClient => createWalletClient({ account, chain, transport, pollingInterval: 100 });
  return { chain, publicClient, wallet };
}
