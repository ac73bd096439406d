import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The READMEs' examples compile: libs/sdk/test/readme-examples.ts holds every ```ts block of the
 * SDK's README and the SDK snippet of the repository's README (this spec checks it still does,
 * line for line), and compiles under the repository's compiler settings.
 */
const ROOT = join(__dirname, '../../..');
const FIXTURE = join(__dirname, '../test/readme-examples.ts');

/** A block's code as compared: its lines trimmed, without blank lines and imports (the fixture gathers those at its top). */
const codeLines = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('import '));

function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

function sdkSnippetOfRepoReadme(): string {
  const text = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = text.indexOf('From code, the same through the SDK');
  expect(at).toBeGreaterThanOrEqual(0);
  const [block] = tsBlocks(text.slice(at));
  expect(block).toBeDefined();
  return block;
}

describe('the README examples', () => {
  const fixture = codeLines(readFileSync(FIXTURE, 'utf8')).join('\n');

  it.each([
    ...tsBlocks(readFileSync(join(__dirname, '../README.md'), 'utf8')).map((block, i): [string, string] => [`libs/sdk/README.md block ${i + 1}`, block]),
    ['README.md, the SDK snippet', sdkSnippetOfRepoReadme()],
  ])('%s is in test/readme-examples.ts, verbatim', (_where, block) => {
    const lines = codeLines(block);
    expect(lines.length).toBeGreaterThan(0);
    expect(fixture).toContain(lines.join('\n'));
  });

  it('test/readme-examples.ts imports every name the README blocks import, from the same module', () => {
    const imports = (text: string): string[] =>
      [...text.matchAll(/^import \{([^}]*)\} from '([^']+)';$/gm)].flatMap(([, names, from]) => names.split(',').map((n) => `${n.trim().replace(/^type /, '')} from ${from}`));
    const readmes = [...tsBlocks(readFileSync(join(__dirname, '../README.md'), 'utf8')), sdkSnippetOfRepoReadme()].join('\n');
    const wanted = imports(readmes);
    expect(wanted.length).toBeGreaterThan(0);
    const have = imports(readFileSync(FIXTURE, 'utf8'));
    expect(wanted.filter((w) => !have.includes(w))).toEqual([]);
  });

  it('test/readme-examples.ts compiles under the repository settings (`as const` jobs included)', async () => {
    // tsc in a child process (the repo's `npm run typecheck` checks the file too; this says which
    // example broke without a whole-repo check), on a tsconfig of this one file
    const dir = mkdtempSync(join(tmpdir(), 'starminer-sdk-readme-'));
    try {
      const tsconfig = join(dir, 'tsconfig.json');
      writeFileSync(tsconfig, JSON.stringify({ extends: join(ROOT, 'tsconfig.json'), compilerOptions: { noEmit: true, baseUrl: ROOT, typeRoots: [join(ROOT, 'node_modules/@types')] }, files: [FIXTURE], include: [] }));
      const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
      const outcome = await promisify(execFile)(process.execPath, [tsc, '-p', tsconfig, '--pretty', 'false'], { cwd: ROOT, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }).then(
        () => '',
        (err: { stdout?: string; message: string }) => err.stdout || err.message,
      );
      expect(outcome).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
