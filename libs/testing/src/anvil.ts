import type { AnvilHandle, StartAnvilOptions } from '@starminer/chain';

/**
 * `startAnvil` from @starminer/chain, loaded on first use: the chain library brings viem and the
 * compiled contract artifacts, which tests that only need NATS or Postgres should not load.
 */
export async function startAnvil(opts?: StartAnvilOptions): Promise<AnvilHandle> {
  const chain = await import('@starminer/chain');
  return chain.startAnvil(opts);
}

export type { AnvilHandle, StartAnvilOptions };
