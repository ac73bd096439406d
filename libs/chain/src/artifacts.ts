import type * as Artifacts from '@starminer/contracts-artifacts';
// contracts/ is not an Nx project (its specs import @starminer/chain, so making it one would be a
// cycle); the compile script is shared with tools/test and tools/stack, so it is imported by path.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { ensureArtifacts } from '../../../contracts/scripts/compile';

export type MarketArtifacts = typeof Artifacts;

let cached: MarketArtifacts | undefined;

/**
 * The compiled contracts (ABIs `as const`, bytecode). Loaded lazily so that a clean clone works:
 * the first call compiles contracts/src when contracts/out is missing or stale (a few seconds,
 * once), every later call is a cached object.
 */
export function artifacts(): MarketArtifacts {
  if (cached) return cached;
  ensureArtifacts();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  cached = require('@starminer/contracts-artifacts') as MarketArtifacts;
  return cached;
}

export function escrowAbi(): MarketArtifacts['ComputeEscrow']['abi'] {
  return artifacts().ComputeEscrow.abi;
}

export function tokenAbi(): MarketArtifacts['AgpuToken']['abi'] {
  return artifacts().AgpuToken.abi;
}
