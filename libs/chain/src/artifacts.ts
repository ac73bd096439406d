import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type * as Artifacts from '@starminer/contracts-artifacts';

export type MarketArtifacts = typeof Artifacts;

/**
 * The compile script, present only when running from source (it is not built into dist/ and not
 * shipped in the image). Required by path at run time, not imported: an import would pull the
 * script, and with it solc, into `npm run build`'s output.
 */
const COMPILE_SCRIPT = join(__dirname, '..', '..', '..', 'contracts', 'scripts', 'compile.ts');

let cached: MarketArtifacts | undefined;

/**
 * The compiled contracts (ABIs `as const`, bytecode). Loaded lazily. From source (tests, the dev
 * stack), a clean clone works: the first call compiles contracts/src when contracts/out is missing
 * or stale (a few seconds, once). From dist/ (`npm run build`, the image) the artifacts were built
 * ahead of time and this never compiles: a service starts without a compiler.
 */
export function artifacts(): MarketArtifacts {
  if (cached) return cached;
  if (__filename.endsWith('.ts') && existsSync(COMPILE_SCRIPT)) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require(COMPILE_SCRIPT) as { ensureArtifacts(): unknown }).ensureArtifacts();
  }
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
