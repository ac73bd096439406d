import type { Address } from 'viem';
import { tokenAbi } from './artifacts';
import { toChainActionError } from './errors';
import type { ChainPublicClient } from './types';

export async function agpuBalance(publicClient: ChainPublicClient, params: { token: Address; account: Address }): Promise<bigint> {
  try {
    return await publicClient.readContract({ address: params.token, abi: tokenAbi(), functionName: 'balanceOf', args: [params.account] });
  } catch (err) {
    throw toChainActionError(err, 'agpuBalance');
  }
}
