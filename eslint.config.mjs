// ESLint for real defects and the layer rules, not style (`npm run lint`, run by .ci/run).
//
// - @eslint/js and typescript-eslint `recommended`, specs and test helpers included. The
//   type-checked presets are left out on purpose: tsc checks types (`npm run typecheck`), and a
//   type-aware lint of the whole repo takes minutes on a 2-core machine.
// - @nx/enforce-module-boundaries over the `tags` in each project.json: domain libraries import no
//   framework, ORM, database driver, NATS or viem, and depend on domain libraries only; an app
//   imports no other app.
import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import { createProjectGraphAsync } from '@nx/devkit';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// enforce-module-boundaries reads the cached Nx project graph and, when there is none (a fresh
// clone), only prints a warning and checks nothing. Building the graph here (about a second, in
// this process: no daemon is started unless NX_DAEMON asks for one) makes every run enforce it.
process.env.NX_DAEMON ??= 'false';
await createProjectGraphAsync({ exitOnError: true });

// What a domain library (pure deciders, the catalogue, matching) must never import: the
// framework, the ORM and the database driver, NATS and the chain client all belong to the edge.
const EDGE_PACKAGES = ['@nestjs/*', 'typeorm', 'pg', '@nats-io/*', 'nats', 'viem', 'viem/*'];

const DEP_CONSTRAINTS = [
  { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain'], bannedExternalImports: EDGE_PACKAGES },
  { sourceTag: 'type:edge', onlyDependOnLibsWithTags: ['type:domain', 'type:edge'] },
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:domain', 'type:edge'] },
];

// Node's globals for the few plain JS files (the jest config, the swc require hook, a child
// script). TypeScript files get theirs from @types/node; typescript-eslint turns no-undef off there.
const NODE_GLOBALS = Object.fromEntries(
  [
    'process', 'console', 'Buffer', 'URL', 'URLSearchParams', 'TextEncoder', 'TextDecoder', 'AbortController',
    'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate',
    'queueMicrotask', 'structuredClone', 'fetch',
  ].map((name) => [name, 'readonly']),
);
const COMMONJS_GLOBALS = { require: 'readonly', module: 'writable', exports: 'writable', __dirname: 'readonly', __filename: 'readonly' };

export default defineConfig(
  {
    ignores: ['**/node_modules/**', '**/dist/**', '**/.data/**', '**/coverage/**', 'contracts/out/**', '.nx/**', 'tmp/**'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.{js,cjs,mjs,ts,tsx}'],
    languageOptions: { globals: NODE_GLOBALS },
    linterOptions: { reportUnusedDisableDirectives: 'warn' },
    rules: {
      // Style, not a defect, and its one finding here was a false positive: tools/stack/start.ts
      // declares `let stack` before a signal handler that reads it while startStack is still in
      // flight; as `const` that read would throw (temporal dead zone) on a Ctrl-C during startup.
      'prefer-const': 'off',
      // A leading underscore marks a binding kept on purpose (a positional parameter, a slot in a
      // destructured tuple); `{ a, ...rest }` may drop `a`; a caught error may go unused.
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          caughtErrors: 'none',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    files: ['**/*.{js,cjs}'],
    languageOptions: { sourceType: 'commonjs', globals: { ...NODE_GLOBALS, ...COMMONJS_GLOBALS } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.{ts,tsx}'],
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': ['error', { allow: [], depConstraints: DEP_CONSTRAINTS }],
      // viem's chain catalogue types pull ox's browser-only sources (WebAuthn, window) into tsc,
      // which fails the typecheck without the DOM lib: our chains come from libs/chain's localChain
      'no-restricted-imports': ['error', { paths: [{ name: 'viem/chains', message: "use localChain(rpcUrl, chainId) from '@starminer/chain'" }] }],
    },
  },
  {
    // The one sanctioned exception to "an app imports no other app": the gateway's in-process
    // harness boots the whole market (every service module and a provider agent) for
    // apps/gateway/test/market.spec.ts. Apps have no import alias, so the rule reports these as
    // relative imports across projects before it looks at tags; `allow` (import specifiers, `/*` =
    // one more path segment) is the only option that lets exactly these through. Nothing else in
    // any app may import another app.
    files: ['apps/gateway/test/market-harness.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          allow: [
            '../../provider-agent/src/*',
            '../../intake/src/*',
            // the vault schedule's ticker, whose clock the vault spec drives
            '../../intake/src/vault-triggers/cron-triggers.ticker',
            '../../registry/src/*',
            '../../matching/src/*',
            '../../deployer/src/*',
            '../../settlement/src/*',
            '../../../contracts/scripts/*',
          ],
          depConstraints: DEP_CONSTRAINTS,
        },
      ],
    },
  },
  {
    // The CLI's end-to-end spec drives the built starminer against the whole market, which only the
    // gateway's harness boots; nothing else in the CLI imports another app.
    files: ['apps/cli/test/cli.spec.ts'],
    rules: { '@nx/enforce-module-boundaries': ['error', { allow: ['../../gateway/test/market-harness'], depConstraints: DEP_CONSTRAINTS }] },
  },
  {
    // The console's browser spec drives the built console against the whole market, which only the
    // gateway's harness boots, in the Chromium that tools/test/chromium finds, with the console built once (tools/build/console).
    files: ['apps/console/test/browser.spec.ts'],
    rules: { '@nx/enforce-module-boundaries': ['error', { allow: ['../../gateway/test/market-harness', '../../../tools/test/chromium', '../../../tools/build/console'], depConstraints: DEP_CONSTRAINTS }] },
  },
  {
    // The simulated fleet's spec drives it against the whole market, which only the gateway's harness boots.
    files: ['tools/fleet/fleet.spec.ts'],
    rules: { '@nx/enforce-module-boundaries': ['error', { allow: ['../../apps/gateway/test/market-harness'], depConstraints: DEP_CONSTRAINTS }] },
  },
  {
    // The auditor's specs run the audit against a market that traded, which only the gateway's harness boots.
    files: ['tools/audit/testing/*.ts', 'tools/audit/**/*.spec.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        { allow: ['../../../apps/gateway/test/market-harness', '../../../apps/gateway/test/fixtures', '../../apps/gateway/test/market-harness'], depConstraints: DEP_CONSTRAINTS },
      ],
    },
  },
);
