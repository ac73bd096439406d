/**
 * What `npm run build` promises about dist/, checked on the output itself: every module a built
 * file requires is plain JavaScript that node loads without a hook. Read from the syntax tree (the
 * `require(...)`/`import(...)` calls with a literal), so a module named in a string or a comment
 * does not count, and one reached by a real call does.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
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
  why: 'compiler module' | 'TypeScript file' | 'unrewritten alias' | 'missing file';
}

export interface DistScan {
  files: number;
  requires: number;
  problems: DistProblem[];
}

function listJs(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listJs(full));
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

function resolvesInside(fromFile: string, specifier: string): boolean {
  const base = resolve(dirname(fromFile), specifier);
  return RESOLVED_EXTENSIONS.some((ext) => existsSync(base + ext) && statSync(base + ext).isFile());
}

/** Scans every .js file under `distDir`. */
export function scanDist(distDir: string): DistScan {
  const files = listJs(distDir);
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
