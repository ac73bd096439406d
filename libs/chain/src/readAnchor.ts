import type { Hex } from 'viem';
import type { PostedAnchor } from './anchorProof';
import { artifacts } from './artifacts';
import { toChainActionError } from './errors';
import { requireAddress } from './requireAddress';
import type { ChainPublicClient, MarketAddresses } from './types';

/** Anchor `index` as the chain holds it ('UnknownAnchor' when there is none). */
export async function readAnchor(publicClient: ChainPublicClient, p: { addresses: MarketAddresses; index: number }): Promise<PostedAnchor> {
  try {
    const a = await publicClient.readContract({ address: requireAddress(p.addresses, 'anchor'), abi: artifacts().AuditAnchor.abi, functionName: 'getAnchor', args: [BigInt(p.index)] });
    return { index: p.index, fromSeq: a.fromSeq, toSeq: a.toSeq, root: a.root as Hex };
  } catch (err) {
    throw toChainActionError(err, `readAnchor #${p.index}`);
  }
}

/** How many anchors the chain holds (their indexes are 0 .. count-1). */
export async function readAnchorCount(publicClient: ChainPublicClient, p: { addresses: MarketAddresses }): Promise<number> {
  try {
    return Number(await publicClient.readContract({ address: requireAddress(p.addresses, 'anchor'), abi: artifacts().AuditAnchor.abi, functionName: 'anchorCount' }));
  } catch (err) {
    throw toChainActionError(err, 'readAnchorCount');
  }
}
