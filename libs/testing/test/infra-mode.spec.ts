import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CONTAINER_ENGINE_PROBE_TIMEOUT_MS } from '../src';

const run = promisify(execFile);
/**
 * Node and tsx starting, and testcontainers loading, on top of a probe's own limit. Generous on
 * purpose: the bound proves the probe ends (the hung engine would hold it until the child's 60 s
 * timeout), not how fast a loaded runner is; the lower bounds prove the limit was waited for.
 */
const STARTUP_SLACK_MS = 25_000;

/**
 * The decision on a machine whose engine does not answer: DOCKER_HOST points at a server that
 * accepts connections and never replies (an engine that hangs), so testcontainers' detection would
 * wait forever. Each case runs in a child process: the decision is made once per process.
 */
describe('choosing the test infrastructure when no container engine answers', () => {
  let engine: Server;
  const held = new Set<Socket>();
  let home: string;
  let dockerHost: string;

  beforeAll(async () => {
    engine = createServer((socket) => {
      held.add(socket);
      socket.on('close', () => held.delete(socket));
    });
    await new Promise<void>((resolve) => engine.listen(0, '127.0.0.1', resolve));
    dockerHost = `tcp://127.0.0.1:${(engine.address() as { port: number }).port}`;
    // no ~/.testcontainers.properties of this machine's user may point elsewhere
    home = await mkdtemp(join(tmpdir(), 'starminer-home-'));
  });

  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => engine.close(resolve));
    await rm(home, { recursive: true, force: true });
  });

  async function decide(infra: string, ...args: string[]): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any -- one JSON line of several shapes
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(__dirname, 'infra-mode-child.ts'), ...args], {
      cwd: join(__dirname, '../../..'),
      env: { ...process.env, STARMINER_TEST_INFRA: infra, DOCKER_HOST: dockerHost, HOME: home },
      timeout: 60_000,
    });
    return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  }

  it('auto runs the local binaries after asking for at most the time limit', async () => {
    const result = await decide('auto', 'choose', '1000');
    expect(result.mode).toBe('local');
    expect(result.why).toContain('STARMINER_TEST_INFRA=auto; no container engine answers (no answer within 1000 ms)');
    expect(result.testcontainersLoaded).toBe(true);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(1000);
    expect(result.elapsedMs).toBeLessThan(1000 + STARTUP_SLACK_MS);
  }, 60_000);

  it('forced containers fails within the time limit, naming the switch and the way out', async () => {
    const result = await decide('containers', 'choose', '1000');
    expect(result.error.code).toBe('CONTAINER_ENGINE_UNAVAILABLE');
    expect(result.error.message).toContain('STARMINER_TEST_INFRA=containers but no container engine answers (no answer within 1000 ms)');
    expect(result.error.message).toContain('STARMINER_TEST_INFRA=local');
    expect(result.elapsedMs).toBeLessThan(1000 + STARTUP_SLACK_MS);
  }, 60_000);

  it('local never asks and never loads testcontainers', async () => {
    const result = await decide('local', 'choose', '1000');
    expect(result.mode).toBe('local');
    expect(result.why).toBe('STARMINER_TEST_INFRA=local');
    expect(result.testcontainersLoaded).toBe(false);
    expect(result.elapsedMs).toBeLessThan(1000);
  }, 60_000);

  it('at the selection point: startNats on auto starts the local nats-server after the named limit', async () => {
    const result = await decide('auto', 'startNats');
    expect(result.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(CONTAINER_ENGINE_PROBE_TIMEOUT_MS);
    expect(result.elapsedMs).toBeLessThan(CONTAINER_ENGINE_PROBE_TIMEOUT_MS + STARTUP_SLACK_MS);
  }, 60_000);

  it('at the selection point: startNats on forced containers fails with the switch named, not a container error', async () => {
    const result = await decide('containers', 'startNats');
    expect(result.error.code).toBe('CONTAINER_ENGINE_UNAVAILABLE');
    expect(result.error.message).toContain('STARMINER_TEST_INFRA=containers');
    expect(result.elapsedMs).toBeLessThan(CONTAINER_ENGINE_PROBE_TIMEOUT_MS + STARTUP_SLACK_MS);
  }, 60_000);
});
