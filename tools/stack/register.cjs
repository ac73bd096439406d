// A CommonJS require hook that runs the repo's TypeScript with @swc/core, the compiler jest already
// uses, for the processes the stack launches: `node -r ./tools/stack/register.cjs apps/<svc>/src/main.ts`.
//
// Why not tsx: esbuild (under tsx) does not emit decorator metadata (`design:paramtypes`), so
// NestJS cannot see what a constructor needs and every service fails at boot with
// "Nest can't resolve dependencies". SWC emits it (decoratorMetadata), like tsc and the Nest CLI.
//
// It also maps the tsconfig `paths` aliases (@starminer/<lib>) to their files.
'use strict';
const Module = require('node:module');
const fs = require('node:fs');
const path = require('node:path');
const swc = require('@swc/core');

const ROOT = path.resolve(__dirname, '..', '..');
const tsconfig = JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8'));
const aliases = new Map(Object.entries(tsconfig.compilerOptions.paths).map(([alias, [target]]) => [alias, path.join(ROOT, target)]));

const SWC_OPTIONS = {
  sourceMaps: 'inline',
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'commonjs' },
};

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, isMain, options) {
  const target = aliases.get(request);
  return resolveFilename.call(this, target ?? request, parent, isMain, options);
};

Module._extensions['.ts'] = function (module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const { code } = swc.transformSync(source, { ...SWC_OPTIONS, filename });
  module._compile(code, filename);
};

process.setSourceMapsEnabled?.(true);
