import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runIntoClosedPipe } from './testing/closed-pipe.testing';

/**
 * `starminer ... | head`: main, run from the sources as `npm run starminer` runs it (tsx), with a
 * stdout whose reader has already gone, so its first write fails with EPIPE. It must end quietly
 * (no unhandled 'error' event and its stack), with the exit code it had.
 */

const ROOT = resolve(__dirname, '..', '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const MAIN = join(__dirname, 'main.ts');

const intoClosedPipe = (args: readonly string[], configHome: string): Promise<{ code: number | null; stderr: string }> =>
  runIntoClosedPipe(TSX, [MAIN, ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: configHome, XDG_CONFIG_HOME: configHome }, label: args });

describe('main: a reader that goes away (EPIPE)', () => {
  let configHome: string;
  beforeAll(() => {
    configHome = mkdtempSync(join(tmpdir(), 'starminer-main-'));
  });
  afterAll(() => rmSync(configHome, { recursive: true, force: true }));

  it('starminer completion | head -5: ends quietly, exit 0', async () => {
    expect(await intoClosedPipe(['completion'], configHome)).toEqual({ code: 0, stderr: '' });
  });

  it("a command's own output (logout) into a closed pipe: ends quietly, exit 0", async () => {
    expect(await intoClosedPipe(['logout'], configHome)).toEqual({ code: 0, stderr: '' });
  });
});
