import { join } from 'node:path';
import { defineConfig } from 'tsup';

/**
 * `npm run build:sdk` (or `npm run build` in libs/sdk): ESM (.mjs) and CommonJS (.js) builds of
 * both entries with their declarations into libs/sdk/dist.
 *
 * One build of both entries with code splitting, so the requester and provider entries share one
 * copy of the transport and the error classes (an error the provider client throws is
 * `instanceof StarMinerApiError` from the main entry). The main entry is built for a neutral
 * platform (it must run in browsers); eventsource-parser is bundled, so it has no runtime
 * dependency. The provider entry keeps `viem` (a peer dependency) and `node:crypto` external.
 */
const here = __dirname;

export default defineConfig({
  entry: { index: join(here, 'src/index.ts'), provider: join(here, 'src/provider.ts') },
  outDir: join(here, 'dist'),
  format: ['esm', 'cjs'],
  platform: 'neutral',
  target: 'es2022',
  splitting: true,
  treeshake: true,
  sourcemap: true,
  clean: true,
  dts: true,
  tsconfig: join(here, 'tsconfig.build.json'),
  noExternal: ['eventsource-parser'],
  external: ['viem', /^viem\//, /^node:/],
  // keep `node:crypto` as written: the prefix says a Node built-in to every runtime (Deno and Bun included)
  removeNodeProtocol: false,
});
