// One jest config for the whole monorepo. swc strips types (tsc checks them in `npm run typecheck`);
// decorator metadata is on for the NestJS apps.
const { readFileSync } = require('node:fs');
const tsconfig = JSON.parse(readFileSync(`${__dirname}/tsconfig.json`, 'utf8'));
const moduleNameMapper = {};
for (const [alias, [target]] of Object.entries(tsconfig.compilerOptions.paths)) {
  moduleNameMapper[`^${alias.replace('/', '\\/')}$`] = `<rootDir>/${target}`;
}
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];
module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper,
  testMatch: ['<rootDir>/{apps,libs,contracts,tools}/**/*.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/.data/', '/dist/'],
  testTimeout: 60_000,
  maxWorkers: 2,
};
