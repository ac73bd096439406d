import type { Hex } from 'viem';
import { artifacts } from './artifacts';
import { toChainActionError } from './errors';
import { requireAddress } from './requireAddress';
import type { ChainPublicClient, MarketAddresses } from './types';

/** Ask the chain whether the event with this hash sat at `seq` in anchor `index`'s range. */
export async function verifyAnchoredEvent(
  publicClient: ChainPublicClient,
  p: { addresses: MarketAddresses; index: number; seq: bigint; eventHash: Hex; proof: Hex[] },
): Promise<boolean> {
  try {
    return await publicClient.readContract({
      address: requireAddress(p.addresses, 'anchor'),
      abi: artifacts().AuditAnchor.abi,
      functionName: 'verifyEvent',
      args: [BigInt(p.index), p.seq, p.eventHash, p.proof],
    });
  } catch (err) {
    throw toChainActionError(err, 'verifyAnchoredEvent');
  }
}
