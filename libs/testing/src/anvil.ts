import type { AnvilHandle, StartAnvilOptions } from '@starminer/chain';
import { testInfraMode } from './containers-mode';

/**
 * `startAnvil` from @starminer/chain, loaded on first use: the chain library brings viem and the
 * compiled contract artifacts, which tests that only need NATS or Postgres should not load.
 * With STARMINER_TEST_INFRA on containers, anvil runs in a container with the same flags, except
 * with a state file: that lives on this machine's disk, so that chain runs here.
 */
export async function startAnvil(opts?: StartAnvilOptions): Promise<AnvilHandle> {
  if (opts?.stateFile === undefined && (await testInfraMode()) === 'containers') {
    const { startAnvilContainer } = await import('./containers');
    return startAnvilContainer(opts);
  }
  const chain = await import('@starminer/chain');
  return chain.startAnvil(opts);
}

export type { AnvilHandle, StartAnvilOptions };
