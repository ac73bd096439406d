import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The layer rule, checked on every test run: domain libraries (tag `type:domain` in their
 * project.json) import no framework, ORM, NATS or chain code, and no edge library; apps are
 * imported by nobody.
 */
const ROOT = join(__dirname, '..', '..');
const FORBIDDEN_IN_DOMAIN = [/^@nestjs\//, /^typeorm$/, /^pg$/, /^@nats-io\//, /^viem/, /^@starminer\/(trade-log|chain|service-kit|testing|sdk)$/];

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : tsFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.spec.ts') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(/(?:from\s+|import\s*\(\s*|require\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]);
}

function projectsTagged(tag: string): string[] {
  return ['libs', 'apps'].flatMap((group) =>
    readdirSync(join(ROOT, group))
      .map((name) => join(ROOT, group, name))
      .filter((dir) => {
        try {
          return (JSON.parse(readFileSync(join(dir, 'project.json'), 'utf8')).tags as string[]).includes(tag);
        } catch {
          return false;
        }
      }),
  );
}

describe('layer rules', () => {
  const domain = projectsTagged('type:domain');

  it('finds the domain libraries', () => {
    expect(domain.map((d) => relative(ROOT, d)).sort()).toEqual(expect.arrayContaining(['libs/domain', 'libs/events', 'libs/matching']));
  });

  it.each(domain.map((d) => [relative(ROOT, d)]))('%s imports no framework, ORM, NATS, chain or edge code', (dir) => {
    const violations = tsFiles(join(ROOT, dir, 'src')).flatMap((file) =>
      importsOf(file)
        .filter((spec) => FORBIDDEN_IN_DOMAIN.some((re) => re.test(spec)))
        .map((spec) => `${relative(ROOT, file)} imports ${spec}`),
    );
    expect(violations).toEqual([]);
  });

  it('no library imports an app', () => {
    const violations = ['libs'].flatMap((group) =>
      tsFiles(join(ROOT, group)).flatMap((file) => importsOf(file).filter((s) => /(^|\/)apps\//.test(s)).map((s) => `${relative(ROOT, file)} imports ${s}`)),
    );
    expect(violations).toEqual([]);
  });

  it('every append goes through the catalogue: only the trade log\'s own specs and benches use the plain JSON codec', () => {
    const allowed = /^libs\/trade-log\/(test|bench)\//;
    const violations = ['apps', 'libs', 'tools'].flatMap((group) =>
      tsFilesWithSpecs(join(ROOT, group))
        .map((file) => relative(ROOT, file))
        .filter((file) => !allowed.test(file) && !file.startsWith('libs/trade-log/src/'))
        .filter((file) => /\bjson(En|De)code\b/.test(readFileSync(join(ROOT, file), 'utf8'))),
    );
    expect(violations).toEqual([]);
  });
});

function tsFilesWithSpecs(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : tsFilesWithSpecs(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}
