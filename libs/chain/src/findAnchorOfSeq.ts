import type { PostedAnchor } from './anchorProof';
import { readAnchor, readAnchorCount } from './readAnchor';
import type { ChainPublicClient, MarketAddresses } from './types';

/**
 * The anchor whose range holds `seq`, or null when no anchor does yet. The chain's ranges are
 * contiguous from 1 in index order (AuditAnchor refuses anything else), so a binary search over
 * the indexes finds it in log2(anchorCount) reads. `read` replaces the chain read of one anchor
 * (a caller's cache: a posted anchor never changes).
 */
export async function findAnchorOfSeq(
  publicClient: ChainPublicClient,
  p: { addresses: MarketAddresses; seq: bigint; count?: number; read?: (index: number) => Promise<PostedAnchor> },
): Promise<PostedAnchor | null> {
  const read = p.read ?? ((index: number) => readAnchor(publicClient, { addresses: p.addresses, index }));
  const count = p.count ?? (await readAnchorCount(publicClient, { addresses: p.addresses }));
  let lo = 0;
  let hi = count - 1;
  while (lo <= hi) {
    const mid = Math.floor((lo + hi) / 2);
    const a = await read(mid);
    if (p.seq < a.fromSeq) hi = mid - 1;
    else if (p.seq > a.toSeq) lo = mid + 1;
    else return a;
  }
  return null;
}
