/**
 * Compiles contracts/src/**\/*.sol with solc-js (the npm `solc`, no native binary) and writes
 * contracts/out/artifacts.ts: one `export const <Name> = { abi: [...] as const, bytecode }` per
 * contract, imported as `@starminer/contracts-artifacts`.
 *
 * Skips the work when contracts/out/stamp.json holds the hash of (sources, solc version, settings):
 * tests and `npm start` call `ensureArtifacts()` on every run and pay a few milliseconds. Nothing
 * built calls it: `npm run build` compiles the contracts once and builds the artifacts into dist/,
 * where libs/chain's `artifacts()` only loads them (solc is a dev dependency, not in the image).
 *
 * Run: `npm run build:contracts` (add `--force` to rebuild).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

type Solc = { version(): string; compile(input: string, opts: { import(path: string): { contents: string } | { error: string } }): string };
let solcModule: Solc | undefined;
/**
 * solc-js, loaded only to compile: loading it costs seconds of blocked event loop (a 9 MB
 * Emscripten module), and every service run from source checks the artifacts at its first chain
 * call, when they are nearly always up to date.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const solc = (): Solc => (solcModule ??= require('solc') as Solc);
/** The compiler's identity for the staleness hash, without loading it: the npm package pins one solc build. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const solcPackageVersion = (): string => (require('solc/package.json') as { version: string }).version;

export const CONTRACTS_DIR = resolve(__dirname, '..');
export const SOURCES_DIR = join(CONTRACTS_DIR, 'src');
export const OUT_DIR = join(CONTRACTS_DIR, 'out');
export const ARTIFACTS_FILE = join(OUT_DIR, 'artifacts.ts');
const STAMP_FILE = join(OUT_DIR, 'stamp.json');

/** Optimizer tuned for call cost (contracts are called far more often than deployed); viaIR off (slow to compile, not needed). */
const SETTINGS = {
  optimizer: { enabled: true, runs: 10_000 },
  evmVersion: 'cancun',
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
} as const;

export class ContractsCompileError extends Error {
  readonly code = 'ContractsCompileError';
  constructor(message: string, readonly errors: readonly string[]) {
    super(message);
    this.name = 'ContractsCompileError';
  }
}

function listSources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listSources(full));
    else if (entry.name.endsWith('.sol')) out.push(full);
  }
  return out.sort();
}

function resolveImport(path: string): { contents: string } | { error: string } {
  try {
    const file = path.startsWith('@') ? require.resolve(path, { paths: [CONTRACTS_DIR] }) : join(CONTRACTS_DIR, path);
    return { contents: readFileSync(file, 'utf8') };
  } catch (err) {
    return { error: `cannot resolve ${path}: ${(err as Error).message}` };
  }
}

function sourcesHash(files: readonly string[]): string {
  const hash = createHash('sha256');
  hash.update(`solc-js ${solcPackageVersion()}\n${JSON.stringify(SETTINGS)}\n`);
  for (const file of files) {
    hash.update(`${relative(CONTRACTS_DIR, file)}\n`);
    hash.update(readFileSync(file));
  }
  return hash.digest('hex');
}

export interface CompileResult {
  compiled: boolean;
  artifactsFile: string;
  contracts: string[];
  elapsedMs: number;
}

/** Compile when the sources changed (or `force`), else return at once. Synchronous on purpose: the chain library calls it lazily before loading the artifacts. */
export function ensureArtifacts(opts: { force?: boolean } = {}): CompileResult {
  const started = Date.now();
  const files = listSources(SOURCES_DIR);
  const hash = sourcesHash(files);
  if (!opts.force && existsSync(ARTIFACTS_FILE) && existsSync(STAMP_FILE)) {
    const stamp = JSON.parse(readFileSync(STAMP_FILE, 'utf8')) as { hash: string; contracts: string[] };
    if (stamp.hash === hash) return { compiled: false, artifactsFile: ARTIFACTS_FILE, contracts: stamp.contracts, elapsedMs: Date.now() - started };
  }

  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(files.map((f) => [relative(CONTRACTS_DIR, f), { content: readFileSync(f, 'utf8') }])),
    settings: SETTINGS,
  };
  const output = JSON.parse(solc().compile(JSON.stringify(input), { import: resolveImport })) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error').map((e) => e.formattedMessage);
  if (errors.length > 0) throw new ContractsCompileError(`solc failed with ${errors.length} error(s):\n${errors.join('\n')}`, errors);

  const names: string[] = [];
  let ts = `// Generated by contracts/scripts/compile.ts from contracts/src with solc ${solc().version()}. Do not edit.\n`;
  for (const [source, contracts] of Object.entries(output.contracts ?? {})) {
    if (!source.startsWith('src/')) continue; // OpenZeppelin dependencies: not exported
    for (const [name, c] of Object.entries(contracts)) {
      if (c.evm.bytecode.object.length === 0) continue; // interfaces and abstract contracts
      if (names.includes(name)) throw new ContractsCompileError(`duplicate contract name ${name}`, []);
      names.push(name);
      ts += `\nexport const ${name} = {\n  contractName: ${JSON.stringify(name)},\n  sourceName: ${JSON.stringify(source)},\n`;
      ts += `  abi: ${JSON.stringify(c.abi)} as const,\n  bytecode: '0x${c.evm.bytecode.object}' as \`0x\${string}\`,\n} as const;\n`;
    }
  }
  names.sort();
  mkdirSync(OUT_DIR, { recursive: true });
  // Write then rename, so two test workers compiling at once never read a half-written file.
  const tmp = `${ARTIFACTS_FILE}.${process.pid}.tmp`;
  writeFileSync(tmp, ts);
  renameSync(tmp, ARTIFACTS_FILE);
  const stampTmp = `${STAMP_FILE}.${process.pid}.tmp`;
  writeFileSync(stampTmp, JSON.stringify({ hash, solc: solc().version(), contracts: names }, null, 2));
  renameSync(stampTmp, STAMP_FILE);
  return { compiled: true, artifactsFile: ARTIFACTS_FILE, contracts: names, elapsedMs: Date.now() - started };
}

if (require.main === module) {
  let result: CompileResult;
  try {
    result = ensureArtifacts({ force: process.argv.includes('--force') });
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
  const what = result.compiled ? `compiled ${result.contracts.length} contracts` : 'up to date';
  console.log(`contracts: ${what} (${result.elapsedMs} ms) -> ${relative(process.cwd(), result.artifactsFile)}: ${result.contracts.join(', ')}`);
}
