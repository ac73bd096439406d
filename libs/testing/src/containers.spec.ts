import { buildContainer } from './containers';
import { decideTestInfraMode, parseTestInfraSwitch, switchNeedsProbe, TEST_INFRA_ENV, type EngineProbe } from './containers-mode';
import {
  ANVIL_IMAGE,
  anvilContainerSpec,
  CONTAINER_LABEL,
  NATS_CONTAINER_STORE_DIR,
  NATS_IMAGE,
  natsContainerSpec,
  POSTGRES_CONTAINER_MAX_CONNECTIONS,
  POSTGRES_IMAGE,
  postgresAdminUrl,
  postgresContainerSpec,
  publishAddress,
} from './containers-specs';
import { TestInfraError } from './errors';

const answered: EngineProbe = { answered: true, engine: 'container engine 27.1.1 (Ubuntu) at localhost' };
const silent: EngineProbe = { answered: false, reason: 'no answer within 5000 ms' };

describe('the STARMINER_TEST_INFRA switch', () => {
  it('defaults to auto, takes its three values, and refuses anything else naming the variable', () => {
    expect(parseTestInfraSwitch(undefined)).toBe('auto');
    expect(parseTestInfraSwitch('')).toBe('auto');
    for (const v of ['auto', 'containers', 'local'] as const) expect(parseTestInfraSwitch(v)).toBe(v);
    expect(() => parseTestInfraSwitch('docker')).toThrow(TestInfraError);
    expect(() => parseTestInfraSwitch('docker')).toThrow(/STARMINER_TEST_INFRA=docker is not one of auto, containers, local/);
  });

  it('asks for an engine on auto and containers, never on local', () => {
    expect(switchNeedsProbe('auto')).toBe(true);
    expect(switchNeedsProbe('containers')).toBe(true);
    expect(switchNeedsProbe('local')).toBe(false);
  });

  it.each([
    ['local', undefined, 'local'],
    ['local', answered, 'local'],
    ['auto', answered, 'containers'],
    ['auto', silent, 'local'],
    ['containers', answered, 'containers'],
  ] as const)('%s with probe %j runs %s', (switchValue, probe, mode) => {
    const choice = decideTestInfraMode(switchValue, probe);
    expect(choice).toMatchObject({ mode, switchValue });
    expect(choice.why).toContain(`${TEST_INFRA_ENV}=${switchValue}`);
    if (probe?.answered && mode === 'containers') expect(choice.why).toContain(probe.engine);
    if (probe && !probe.answered) expect(choice.why).toContain(probe.reason);
  });

  it('forced containers without an engine fails, naming the switch, the reason and the way out', () => {
    let err: unknown;
    try {
      decideTestInfraMode('containers', silent);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TestInfraError);
    expect((err as TestInfraError).code).toBe('CONTAINER_ENGINE_UNAVAILABLE');
    expect((err as Error).message).toContain('STARMINER_TEST_INFRA=containers');
    expect((err as Error).message).toContain(silent.reason);
    expect((err as Error).message).toContain('STARMINER_TEST_INFRA=local');
  });
});

describe('container specs', () => {
  it('nats: the 2.10 image with JetStream, its store inside, on the fixed host port, ready on its log line', () => {
    const spec = natsContainerSpec({ hostPort: 41_222 });
    expect(spec.image).toBe(NATS_IMAGE);
    expect(NATS_IMAGE).toMatch(/^nats:2\.10\.\d+-alpine$/);
    expect(spec.command).toEqual(['-js', '-sd', NATS_CONTAINER_STORE_DIR, '-p', '4222']);
    expect(spec).toMatchObject({ containerPort: 4222, hostPort: 41_222, env: {} });
    expect(spec.ready.times).toBe(1);
    expect('[1] 2025/01/01 00:00:00.000000 [INF] Server is ready').toMatch(spec.ready.logLine);
  });

  it('postgres: Postgres 16 with a password, throw-away settings, data on tmpfs, ready on the second "ready" line', () => {
    const spec = postgresContainerSpec({ password: 'pw' });
    expect(spec.image).toBe(POSTGRES_IMAGE);
    expect(POSTGRES_IMAGE).toBe('postgres:16-alpine');
    expect(spec.env).toEqual({ POSTGRES_USER: 'postgres', POSTGRES_PASSWORD: 'pw', POSTGRES_DB: 'postgres' });
    expect(spec.command[0]).toBe('postgres');
    for (const setting of ['fsync=off', 'synchronous_commit=off', `max_connections=${POSTGRES_CONTAINER_MAX_CONNECTIONS}`]) {
      expect(spec.command[spec.command.indexOf(setting) - 1]).toBe('-c');
    }
    expect(spec.tmpfs).toEqual({ '/var/lib/postgresql/data': 'rw' });
    expect(spec.hostPort).toBeUndefined();
    // the image's init-time server logs it first, the real one second
    expect(spec.ready.times).toBe(2);
    expect('2025-01-01 00:00:00.000 UTC [1] LOG:  database system is ready to accept connections').toMatch(spec.ready.logLine);
  });

  it("anvil: the local anvil's flags (chain id, mnemonic, block time, extras), on the container's port and all its interfaces", async () => {
    // loaded as anvil.ts loads it (lazily)
    const { anvilArgs, DEV_MNEMONIC } = await import('@starminer/chain');
    const local = anvilArgs({ chainId: 31_338, blockTimeSec: 1, extraArgs: ['--code-size-limit', '50000'], port: 33_333 });
    const spec = anvilContainerSpec(local, { hostPort: 48_545, readyTimeoutMs: 20_000 });
    expect(spec.image).toBe(ANVIL_IMAGE);
    expect(spec.entrypoint).toEqual(['anvil']);
    expect(spec.command).toEqual(local.map((a, i) => (local[i - 1] === '--host' ? '0.0.0.0' : local[i - 1] === '--port' ? '8545' : a)));
    expect(spec.command).toEqual(expect.arrayContaining(['--chain-id', '31338', '--mnemonic', DEV_MNEMONIC, '--block-time', '1', '--code-size-limit']));
    expect(local).toEqual(expect.arrayContaining(['--host', '127.0.0.1']));
    expect(spec).toMatchObject({ containerPort: 8545, hostPort: 48_545, startupTimeoutMs: 20_000 });
    expect('Listening on 0.0.0.0:8545').toMatch(spec.ready.logLine);
    expect(anvilContainerSpec(['--chain-id', '1'], { readyTimeoutMs: 1 }).command).toEqual(['--chain-id', '1', '--host', '0.0.0.0', '--port', '8545']);
    expect(anvilContainerSpec([], { readyTimeoutMs: 1 }).hostPort).toBeUndefined();
  });

  it('anvil: the image is the version of the npm anvil the local path runs', () => {
    const { version } = require('@foundry-rs/anvil/package.json') as { version: string }; // eslint-disable-line @typescript-eslint/no-require-imports -- a JSON read
    expect(ANVIL_IMAGE).toBe(`ghcr.io/foundry-rs/foundry:v${version}`);
  });

  it('publishes on 127.0.0.1 for an engine on this machine, on its own interfaces for a remote one', () => {
    expect(publishAddress('localhost')).toEqual({ bindIp: '127.0.0.1', connectHost: '127.0.0.1' });
    expect(publishAddress('127.0.0.1')).toEqual({ bindIp: '127.0.0.1', connectHost: '127.0.0.1' });
    expect(publishAddress('172.17.0.1')).toEqual({ connectHost: '172.17.0.1' });
    expect(publishAddress('docker.ci.internal')).toEqual({ connectHost: 'docker.ci.internal' });
  });

  it('builds the admin URL with the password escaped', () => {
    expect(postgresAdminUrl('127.0.0.1', 55_432, 'a/b@c')).toBe('postgres://postgres:a%2Fb%40c@127.0.0.1:55432/postgres');
    expect(new URL(postgresAdminUrl('::1', 1, 'x')).hostname).toBe('[::1]');
  });
});

describe('buildContainer (what testcontainers will ask the engine to create)', () => {
  /** The create request testcontainers holds before start() (protected fields: read, never written). */
  const request = (c: unknown) =>
    c as {
      createOpts: { Image: string; Cmd: string[]; Entrypoint?: string[]; Env: string[]; ExposedPorts: Record<string, object>; Labels: Record<string, string> };
      hostConfig: { PortBindings: Record<string, { HostIp?: string; HostPort: string }[]>; Tmpfs?: Record<string, string> };
      waitStrategy: { constructor: { name: string }; startupTimeoutMs?: number };
      startupTimeoutMs?: number;
    };

  it('nats: image, command, fixed port on 127.0.0.1, label and the log wait', () => {
    const spec = natsContainerSpec({ hostPort: 41_222 });
    const c = request(buildContainer(spec, '127.0.0.1'));
    expect(c.createOpts.Image).toBe(NATS_IMAGE);
    expect(c.createOpts.Cmd).toEqual([...spec.command]);
    expect(c.createOpts.Entrypoint).toBeUndefined();
    expect(Object.keys(c.createOpts.ExposedPorts)).toEqual(['4222/tcp']);
    expect(c.hostConfig.PortBindings['4222/tcp']).toEqual([{ HostPort: '41222', HostIp: '127.0.0.1' }]);
    expect(c.createOpts.Labels[CONTAINER_LABEL]).toBe('nats');
    expect(c.waitStrategy.constructor.name).toBe('LogWaitStrategy');
    expect(c.startupTimeoutMs).toBe(spec.startupTimeoutMs);
  });

  it('postgres: environment, tmpfs, and a port the engine picks (on all interfaces for a remote engine)', () => {
    const c = request(buildContainer(postgresContainerSpec({ password: 'pw' })));
    expect(c.createOpts.Env).toEqual(expect.arrayContaining(['POSTGRES_PASSWORD=pw', 'POSTGRES_USER=postgres']));
    expect(c.hostConfig.Tmpfs).toEqual({ '/var/lib/postgresql/data': 'rw' });
    expect(c.hostConfig.PortBindings['5432/tcp']).toEqual([{ HostPort: '0' }]);
  });

  it('anvil: the entrypoint replaced (the image runs `/bin/sh -c`), the flags as arguments', () => {
    const spec = anvilContainerSpec(['--chain-id', '31337'], { readyTimeoutMs: 20_000 });
    const c = request(buildContainer(spec, '127.0.0.1'));
    expect(c.createOpts.Entrypoint).toEqual(['anvil']);
    expect(c.createOpts.Cmd).toEqual([...spec.command]);
    expect(c.hostConfig.PortBindings['8545/tcp']).toEqual([{ HostPort: '0', HostIp: '127.0.0.1' }]);
  });
});
