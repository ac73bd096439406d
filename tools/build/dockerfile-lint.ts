/**
 * The Dockerfile, linted without a container engine (none here can build it): the VS Code Docker
 * language server's validator (dockerfile-utils) for what Docker itself would refuse, then our
 * rules, hadolint-style, on its syntax tree (dockerfile-ast, the parser dockerfile-utils uses):
 * base images pinned by tag and digest, a non-root USER and a HEALTHCHECK in the final stage,
 * `npm ci` never `npm install`, no ADD, no compiler in the final stage, a CMD that runs a built entry.
 *
 * Run: `npm run lint:docker` (exits 1 with the problems).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser, type Copy, type From, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { ENTRY_POINTS, REPO_ROOT } from './layout';

export const DOCKERFILE = join(REPO_ROOT, 'deploy', 'Dockerfile');
/** Tools that compile TypeScript or Solidity: the build stage's business, never the runtime's. */
export const COMPILERS = /\b(solc|@swc\/[\w-]+|swc|tsx|ts-node|typescript|tsc|esbuild|register\.cjs)\b/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const ROOT_USERS = new Set(['root', '0']);

interface Stage {
  from: From;
  name: string | null;
  instructions: Instruction[];
}

function stagesOf(content: string): Stage[] {
  const dockerfile = DockerfileParser.parse(content);
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const from = instruction as From;
      stages.push({ from, name: from.getBuildStage(), instructions: [] });
    } else stages.at(-1)?.instructions.push(instruction);
  }
  return stages;
}

const lineOf = (i: Instruction): number => i.getRange().start.line + 1;
const argsOf = (i: Instruction): string => i.getArgumentsContent() ?? '';

/** Our rules, on one Dockerfile's text; each problem names its line. */
export function ourRules(content: string): string[] {
  const problems: string[] = [];
  const stages = stagesOf(content);
  if (stages.length === 0) return ['no FROM: not a Dockerfile'];
  const named = new Set<string>();
  for (const { from, name } of stages) {
    const image = from.getImageName() ?? '';
    if (!named.has(image)) {
      const tag = from.getImageTag();
      if (!tag || tag === 'latest') problems.push(`line ${lineOf(from)}: FROM ${from.getImage()} is not pinned to a version tag`);
      if (!DIGEST.test(from.getImageDigest() ?? '')) problems.push(`line ${lineOf(from)}: FROM ${from.getImage()} is not pinned by digest (@sha256:...)`);
    }
    if (name) named.add(name);
  }
  for (const { instructions } of stages) {
    for (const i of instructions) {
      const keyword = i.getKeyword();
      if (keyword === 'ADD') problems.push(`line ${lineOf(i)}: ADD (use COPY; never fetch URLs at build)`);
      if (keyword === 'RUN' && /\bnpm\s+(install|i|add)\b/.test(argsOf(i))) problems.push(`line ${lineOf(i)}: npm install (use npm ci: the lock file, exactly)`);
    }
  }

  const final = stages.at(-1)!;
  const users = final.instructions.filter((i) => i.getKeyword() === 'USER');
  const user = users.at(-1) ? argsOf(users.at(-1)!).split(':')[0].trim() : undefined;
  if (!user || ROOT_USERS.has(user)) problems.push(`the final stage runs as root: add USER <non-root uid> (got ${user ?? 'none'})`);
  const healthchecks = final.instructions.filter((i) => i.getKeyword() === 'HEALTHCHECK');
  if (healthchecks.length === 0 || /^NONE\b/i.test(argsOf(healthchecks.at(-1)!))) problems.push('the final stage has no HEALTHCHECK');
  // readiness includes NATS, Postgres and the chain: an engine restarting unhealthy containers would restart them all in an outage
  else if (!argsOf(healthchecks.at(-1)!).includes('/health/live')) problems.push('the HEALTHCHECK must ask /health/live (liveness), not readiness or another path');
  for (const i of final.instructions) {
    if (['RUN', 'CMD', 'ENTRYPOINT', 'HEALTHCHECK'].includes(i.getKeyword()) && COMPILERS.test(argsOf(i)))
      problems.push(`line ${lineOf(i)}: the final stage runs a compiler or hook (${COMPILERS.exec(argsOf(i))?.[0]}): build it in an earlier stage`);
  }
  // the final stage's node_modules: production dependencies only (see productionClosure for why optional ones too)
  for (const copy of final.instructions.filter((i) => i.getKeyword() === 'COPY' && /\bnode_modules\b/.test(argsOf(i)))) {
    const from = (copy as Copy).getFromFlag()?.getValue();
    const source = stages.find((s) => s.name !== null && s.name === from);
    const install = source?.instructions.find((i) => i.getKeyword() === 'RUN' && /\bnpm\s+ci\b/.test(argsOf(i)));
    if (!install || !/--omit=dev\b/.test(argsOf(install)) || !/--omit=optional\b/.test(argsOf(install)))
      problems.push(`line ${lineOf(copy)}: the final stage's node_modules must come from \`npm ci --omit=dev --omit=optional\` in an earlier stage`);
  }
  const cmd = final.instructions.filter((i) => i.getKeyword() === 'CMD').at(-1);
  const entries = new Set(Object.values(ENTRY_POINTS));
  let argv: unknown;
  try {
    argv = cmd ? JSON.parse(argsOf(cmd)) : undefined;
  } catch {
    argv = undefined;
  }
  if (!Array.isArray(argv) || argv[0] !== 'node' || !entries.has(argv[1] as string) || argv.length !== 2)
    problems.push(`the final CMD must be the exec form ["node", "<a built entry>"] (one of ${[...entries].join(', ')}); got ${cmd ? argsOf(cmd) : 'none'}`);
  return problems;
}

/** dockerfile-utils' diagnostics (what Docker would refuse or warn about), then ours. */
export function lintDockerfile(content: string): string[] {
  const engine = validate(content).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
  return [...engine, ...ourRules(content)];
}

interface LockPackage {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/**
 * The packages `npm ci --omit=dev --omit=optional` installs: what package.json's dependencies reach
 * through the lock file (dependencies and required peers), resolved the way node does (the nearest
 * node_modules up the tree). Walked from package.json rather than read from the lock's `dev` flags,
 * so a moved dependency counts before the lock is refreshed. (`--omit=dev` alone would keep
 * `devOptional` packages: typescript, an optional peer of viem.)
 */
export function productionClosure(pkg: { dependencies?: Record<string, string> }, lock: { packages: Record<string, LockPackage> }): Set<string> {
  const seen = new Set<string>();
  const names = new Set<string>();
  const resolveFrom = (from: string, name: string): string | undefined => {
    for (let dir = from; ; ) {
      const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
      if (lock.packages[candidate]) return candidate;
      if (!dir) return undefined;
      const cut = dir.lastIndexOf('/node_modules/');
      dir = cut < 0 ? '' : dir.slice(0, cut);
    }
  };
  const visit = (from: string, deps: Record<string, string>): void => {
    for (const name of Object.keys(deps)) {
      const at = resolveFrom(from, name);
      if (!at || seen.has(at)) continue;
      seen.add(at);
      names.add(name);
      const p = lock.packages[at];
      const required = Object.keys(p.peerDependencies ?? {}).filter((peer) => !p.peerDependenciesMeta?.[peer]?.optional);
      visit(at, { ...p.dependencies, ...Object.fromEntries(required.map((peer) => [peer, '*'])) });
    }
  };
  visit('', pkg.dependencies ?? {});
  return names;
}

/** The packages of the image's node_modules: productionClosure of this repo's package.json and lock file. */
export function productionPackages(root = REPO_ROOT): Set<string> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockPackage> };
  return productionClosure(pkg, lock);
}

/** Compilers among the production dependencies (the final stage's node_modules). */
export function compilersInProduction(root = REPO_ROOT): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockPackage> };
  return [...productionClosure(pkg, lock)].filter((name) => /^(solc|@swc\/.+|tsx|ts-node|typescript|esbuild|@esbuild\/.+)$/.test(name)).sort();
}

if (require.main === module) {
  const problems = [...lintDockerfile(readFileSync(DOCKERFILE, 'utf8')), ...compilersInProduction().map((name) => `production dependencies include the compiler ${name}`)];
  if (problems.length > 0) {
    console.error(`deploy/Dockerfile:\n${problems.join('\n')}`);
    process.exit(1);
  }
  console.log('deploy/Dockerfile: no problems');
}
