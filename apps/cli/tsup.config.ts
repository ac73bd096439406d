import { join } from 'node:path';
import { defineConfig, type Options } from 'tsup';

const ROOT = join(__dirname, '..', '..');

/**
 * `starminer` as one CommonJS file with its shebang (tsup keeps it and marks the file executable).
 * The SDK lives in this monorepo only (the `@starminer/sdk` path alias), so it is bundled; the
 * published libraries the CLI declares stay external, whatever directory tsup runs from (tsup's
 * default is the dependencies of the package.json in its working directory).
 */
export function cliBuildOptions(outDir = join(__dirname, 'dist')): Options {
  return {
    entry: { starminer: join(__dirname, 'src', 'main.ts') },
    outDir,
    format: ['cjs'],
    outExtension: () => ({ js: '.cjs' }),
    platform: 'node',
    // the oldest Node the CLI runs on (engines: >=20.19)
    target: 'node20',
    tsconfig: join(ROOT, 'tsconfig.json'),
    noExternal: ['@starminer/sdk', 'eventsource-parser'],
    external: ['yargs', 'cli-table3', 'nanospinner', 'viem', /^viem\//],
    splitting: false,
    sourcemap: false,
    clean: true,
    dts: false,
    silent: true,
  };
}

export default defineConfig(cliBuildOptions());
