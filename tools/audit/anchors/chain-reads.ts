import { ChainActionError, readAnchor, type ChainPublicClient, type MarketAddresses, type PostedAnchor } from '@starminer/chain';
import { AuditSourceError, AuditUsageError } from '../shared/config';

/** Anchors one run keeps once read (a posted anchor never changes); the oldest read is forgotten past it. */
export const ANCHORS_CACHED_MAX = 256;

/** The chain away is a source that cannot be read (exit 3), not a difference. */
export async function fromChain<T>(what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof ChainActionError && err.code === 'ChainUnavailable') throw new AuditSourceError(`the chain cannot be read (${what}): ${err.message}`);
    throw err;
  }
}

/** The market's anchor contract, or a usage error (the auditor gave addresses without it). */
export function requireAnchorContract(addresses: MarketAddresses): `0x${string}` {
  if (!addresses.anchor) throw new AuditUsageError('--addresses (MARKET_ADDRESSES) names no anchor contract: the log is not anchored on this chain');
  return addresses.anchor;
}

/** Reads anchors by index, each once while it is among the ANCHORS_CACHED_MAX read last. */
export function cachedAnchorReader(publicClient: ChainPublicClient, addresses: MarketAddresses): (index: number) => Promise<PostedAnchor> {
  const cache = new Map<number, PostedAnchor>();
  return async (index) => {
    const hit = cache.get(index);
    if (hit) return hit;
    const anchor = await fromChain(`anchor #${index}`, () => readAnchor(publicClient, { addresses, index }));
    cache.set(index, anchor);
    if (cache.size > ANCHORS_CACHED_MAX) cache.delete(cache.keys().next().value!);
    return anchor;
  };
}
