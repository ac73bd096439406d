/**
 * `npm run build`: builds what runs in production ahead of time, so that a service starts with
 * plain `node dist/apps/<service>/src/main.js` (no hook, no swc, no tsx, no solc at run time):
 *
 * 1. the contracts: contracts/src compiled with solc to contracts/out/artifacts.ts (ABIs `as const`,
 *    bytecode), skipped when up to date;
 * 2. every service, the provider agent, the contracts Job and the libraries they import, type-checked and compiled by
 *    tsc from tsconfig.build.json (decorator metadata kept), incrementally (dist/.tsbuildinfo);
 * 3. the `@starminer/*` path aliases rewritten to relative requires (tsc-alias);
 * 4. dist/ pruned of outputs whose source is gone, then scanned (tools/build/scan.ts): nothing
 *    built requires a compiler, a .ts file, an alias left over, or a file that is not there.
 *
 * Run: `npm run build` (add `--clean` to start from an empty dist/).
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { replaceTscAliasPaths } from 'tsc-alias';
import ts from 'typescript';
import { ensureArtifacts } from '../../contracts/scripts/compile';
import { productionPackages } from './dockerfile-lint';
import { DIST_DIR, ENTRY_POINTS, REPO_ROOT } from './layout';
import { formatProblems, scanDist, scanProductionImports, type DistScan } from './scan';
import { CONSOLE_BUILD_DIR, ensureConsoleBuilt } from './console';

export const BUILD_TSCONFIG = join(REPO_ROOT, 'tsconfig.build.json');

export class BuildError extends Error {
  override readonly name = 'BuildError';
  constructor(
    readonly code: 'TYPE_ERRORS' | 'EMIT_SKIPPED' | 'DIST_UNSOUND' | 'ENTRY_MISSING',
    message: string,
  ) {
    super(message);
  }
}

export interface BuildResult {
  contractsCompiled: boolean;
  emitted: number;
  pruned: number;
  scan: DistScan;
  elapsedMs: number;
}

const formatHost: ts.FormatDiagnosticsHost = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => REPO_ROOT, getNewLine: () => '\n' };
/** tsc's own format: coloured on a terminal, plain in a log. */
const formatDiagnostics = (diagnostics: readonly ts.Diagnostic[]): string =>
  process.stderr.isTTY ? ts.formatDiagnosticsWithColorAndContext(diagnostics, formatHost) : ts.formatDiagnostics(diagnostics, formatHost);

/** tsc through its API: one incremental program, its errors first (noEmitOnError), then the emit. Returns the outputs the program owns. */
function compile(): { emitted: number; outputs: Set<string> } {
  const parsed = ts.getParsedCommandLineOfConfigFile(BUILD_TSCONFIG, undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new BuildError('TYPE_ERRORS', ts.formatDiagnostic(d, formatHost));
    },
  });
  if (!parsed) throw new BuildError('TYPE_ERRORS', `cannot read ${BUILD_TSCONFIG}`);
  const builder = ts.createIncrementalProgram({ rootNames: parsed.fileNames, options: { ...parsed.options, listEmittedFiles: true }, configFileParsingDiagnostics: parsed.errors });
  const diagnostics = [
    ...builder.getConfigFileParsingDiagnostics(),
    ...builder.getOptionsDiagnostics(),
    ...builder.getGlobalDiagnostics(),
    ...builder.getSyntacticDiagnostics(),
    ...builder.getSemanticDiagnostics(),
  ].filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (diagnostics.length > 0) throw new BuildError('TYPE_ERRORS', formatDiagnostics(diagnostics));
  const emit = builder.emit();
  if (emit.emitSkipped) throw new BuildError('EMIT_SKIPPED', formatDiagnostics(emit.diagnostics));
  // What this program emits, from its sources (the incremental emit writes only what changed).
  const { rootDir = REPO_ROOT, outDir = DIST_DIR, sourceMap } = parsed.options;
  const outputs = new Set<string>();
  for (const sf of builder.getProgram().getSourceFiles()) {
    if (sf.isDeclarationFile || sf.fileName.includes('/node_modules/')) continue;
    const out = join(outDir, relative(rootDir, sf.fileName));
    if (out.endsWith('.json')) outputs.add(out);
    else {
      outputs.add(out.replace(/\.ts$/, '.js'));
      if (sourceMap) outputs.add(out.replace(/\.ts$/, '.js.map'));
    }
  }
  return { emitted: emit.emittedFiles?.length ?? 0, outputs };
}

/** Removes built files no source owns any more (a deleted or moved .ts), so dist/ is what a clean build gives. */
function prune(dir: string, keep: ReadonlySet<string>): number {
  let removed = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (full === CONSOLE_BUILD_DIR) continue; // the web console's build (vite), not tsc's
    if (entry.isDirectory()) {
      removed += prune(full, keep);
      if (readdirSync(full).length === 0) rmSync(full, { recursive: true });
    } else if (/\.(js|js\.map|json)$/.test(entry.name) && !keep.has(full)) {
      rmSync(full);
      removed += 1;
    }
  }
  return removed;
}

export async function build(opts: { clean?: boolean; log?: (line: string) => void } = {}): Promise<BuildResult> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const started = Date.now();
  if (opts.clean) rmSync(DIST_DIR, { recursive: true, force: true });

  const contracts = ensureArtifacts();
  log(`build: contracts ${contracts.compiled ? 'compiled' : 'up to date'} (${contracts.contracts.join(', ')})`);

  const { emitted, outputs } = compile();
  await replaceTscAliasPaths({ configFile: BUILD_TSCONFIG });
  const pruned = prune(DIST_DIR, outputs);
  log(`build: tsc emitted ${emitted} files, aliases rewritten, ${pruned} stale files removed`);

  for (const [name, entry] of Object.entries(ENTRY_POINTS)) {
    if (!existsSync(join(REPO_ROOT, entry))) throw new BuildError('ENTRY_MISSING', `${name}'s entry ${entry} was not built: is it in tsconfig.build.json's files?`);
  }
  // the web console, served by the gateway from dist/console (the image's CONSOLE_DIR default)
  log(ensureConsoleBuilt(log) ? `build: web console built into ${relative(process.cwd(), CONSOLE_BUILD_DIR)}` : 'build: web console up to date');
  const scan = scanDist(DIST_DIR, [CONSOLE_BUILD_DIR]);
  if (scan.problems.length > 0) throw new BuildError('DIST_UNSOUND', `dist/ is not plain node:\n${formatProblems(scan.problems)}`);
  // the image's node_modules hold the production dependencies only: what an entry loads must be among them
  const reached = scanProductionImports(Object.values(ENTRY_POINTS).map((entry) => join(REPO_ROOT, entry)), productionPackages());
  if (reached.problems.length > 0) throw new BuildError('DIST_UNSOUND', `an entry requires a package the image does not install (move it to dependencies):\n${formatProblems(reached.problems)}`);
  const elapsedMs = Date.now() - started;
  log(`build: ${scan.files} files in ${relative(process.cwd(), DIST_DIR) || '.'}, ${scan.requires} requires checked, in ${elapsedMs} ms`);
  return { contractsCompiled: contracts.compiled, emitted, pruned, scan, elapsedMs };
}

if (require.main === module) {
  build({ clean: process.argv.includes('--clean') }).catch((err: unknown) => {
    console.error(err instanceof BuildError ? `build failed (${err.code}): ${err.message}` : err);
    process.exit(1);
  });
}
