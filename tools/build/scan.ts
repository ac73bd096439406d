/**
 * What `npm run build` promises about dist/, checked on the output itself: every module a built
 * file requires is plain JavaScript that node loads without a hook. Read from the syntax tree (the
 * `require(...)`/`import(...)` calls with a literal), so a module named in a string or a comment
 * does not count, and one reached by a real call does.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** Modules that compile or run TypeScript or Solidity: the build's tools, never the run time's. */
export const COMPILER_MODULES = /^(@swc\/|tsx(\/|$)|ts-node(\/|$)|typescript(\/|$)|solc(\/|$)|esbuild(\/|$))/;
/** A file node cannot load without a hook (Node 24 would strip types silently, without decorator metadata). */
const TYPESCRIPT_FILE = /\.(c|m)?ts$/;
/** Extensions a relative CommonJS require may leave out, in node's order. */
const RESOLVED_EXTENSIONS = ['', '.js', '.json', '/index.js'] as const;

export interface DistProblem {
  file: string;
  specifier: string;
  why: 'compiler module' | 'TypeScript file' | 'unrewritten alias' | 'missing file' | 'not a production dependency';
}

export interface DistScan {
  files: number;
  requires: number;
  problems: DistProblem[];
}

function listJs(dir: string, skip: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (skip.has(full)) continue;
    if (entry.isDirectory()) out.push(...listJs(full, skip));
    else if (entry.name.endsWith('.js')) out.push(full);
  }
  return out;
}

/** The literal specifiers of every `require(...)`, `import(...)` and `require.resolve(...)` in one file. */
export function requiredSpecifiers(source: string, fileName = 'file.js'): string[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.ES2022, false, ts.ScriptKind.JS);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && node.arguments.length > 0) {
      const callee = node.expression;
      const isRequire =
        (ts.isIdentifier(callee) && callee.text === 'require') ||
        callee.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) && callee.expression.text === 'require' && callee.name.text === 'resolve');
      const arg = node.arguments[0];
      if (isRequire && (ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg))) out.push(arg.text);
    }
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) out.push(node.moduleSpecifier.text);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function resolvedFile(fromFile: string, specifier: string): string | undefined {
  const base = resolve(dirname(fromFile), specifier);
  return RESOLVED_EXTENSIONS.map((ext) => base + ext).find((f) => existsSync(f) && statSync(f).isFile());
}
const resolvesInside = (fromFile: string, specifier: string): boolean => resolvedFile(fromFile, specifier) !== undefined;

/** The package a bare specifier loads from: `viem/accounts` → viem, `@nestjs/core/x` → @nestjs/core. */
export const packageOf = (specifier: string): string => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
const BUILTINS = new Set(builtinModules);

/**
 * Packages a built file may name although production installs leave them out, each with why that is
 * sound. Kept short: every entry is reviewed.
 */
export const ABSENT_IN_PRODUCTION: Readonly<Record<string, string>> = {
  // libs/chain's startAnvil (tests and the dev stack only) resolves the binary in a try and falls back to `anvil` on PATH
  '@foundry-rs/anvil-linux-amd64': 'startAnvil resolves it in a try (dev and tests only)',
};

/**
 * The files node loads from each entry (relative requires followed, JSON not parsed), and every bare
 * package they require that the production install (`production`: productionClosure) lacks: the
 * image has only those, so such a require fails there although it passes beside dev node_modules.
 */
export function scanProductionImports(entries: readonly string[], production: ReadonlySet<string>): DistScan {
  const problems: DistProblem[] = [];
  const seen = new Set<string>();
  const queue = [...entries];
  let requires = 0;
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!file.endsWith('.js')) continue;
    for (const specifier of requiredSpecifiers(readFileSync(file, 'utf8'), file)) {
      requires += 1;
      if (specifier.startsWith('.')) {
        const next = resolvedFile(file, specifier);
        if (next) queue.push(next);
        continue;
      }
      const bare = specifier.replace(/^node:/, '');
      if (specifier.startsWith('node:') || BUILTINS.has(bare) || BUILTINS.has(packageOf(bare))) continue;
      const pkg = packageOf(bare);
      if (!production.has(pkg) && ABSENT_IN_PRODUCTION[pkg] === undefined) problems.push({ file, specifier, why: 'not a production dependency' });
    }
  }
  return { files: seen.size, requires, problems };
}

/** Scans every .js file under `distDir`. */
/** `skip`: folders that are not node code (the web console's browser bundle). */
export function scanDist(distDir: string, skip: readonly string[] = []): DistScan {
  const files = listJs(distDir, new Set(skip));
  const problems: DistProblem[] = [];
  let requires = 0;
  for (const file of files) {
    const rel = relative(distDir, file);
    for (const specifier of requiredSpecifiers(readFileSync(file, 'utf8'), file)) {
      requires += 1;
      const bare = specifier.replace(/^node:/, '');
      if (COMPILER_MODULES.test(bare)) problems.push({ file: rel, specifier, why: 'compiler module' });
      else if (TYPESCRIPT_FILE.test(bare)) problems.push({ file: rel, specifier, why: 'TypeScript file' });
      else if (bare.startsWith('@starminer/')) problems.push({ file: rel, specifier, why: 'unrewritten alias' });
      else if (bare.startsWith('.') && !resolvesInside(file, bare)) problems.push({ file: rel, specifier, why: 'missing file' });
    }
  }
  return { files: files.length, requires, problems };
}

export const formatProblems = (problems: readonly DistProblem[]): string => problems.map((p) => `${p.file}: requires ${p.specifier} (${p.why})`).join('\n');
