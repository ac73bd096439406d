import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * `starminer ... | head`: main, run from the sources as `npm run starminer` runs it (tsx), with a
 * stdout whose reader has already gone, so its first write fails with EPIPE. It must end quietly
 * (no unhandled 'error' event and its stack), with the exit code it had.
 */

const ROOT = resolve(__dirname, '..', '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const MAIN = join(__dirname, 'main.ts');
const RUN_TIMEOUT_MS = 30_000;

function intoClosedPipe(args: readonly string[], configHome: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(TSX, [MAIN, ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: configHome, XDG_CONFIG_HOME: configHome }, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`starminer ${args.join(' ')} ran past ${RUN_TIMEOUT_MS} ms\nstderr: ${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stderr });
    });
    child.stdin.end();
  });
}

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
