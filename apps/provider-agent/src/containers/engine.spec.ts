import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resultHashOf } from '@starminer/domain';
import { loadAgentConfig } from '../config';
import { containerRuntimeAtStart, registrationFor } from '../main';
import { refusalOf, runContainer, runWorkload } from '../runtime';
import {
  containerNameOf,
  containerRunArgs,
  DEFAULT_CONTAINER_LIMITS,
  detectContainerEngine,
  engineVersionOf,
  type ContainerEngineCli,
  type ContainerEngineKind,
  type ContainerRuntime,
} from './engine';

/**
 * Container workloads (issue 17). This machine has no container engine that can run a container
 * (Podman installs, but its runtime cannot setrlimit in the sandbox), so no spec here runs a real
 * one: detection reads SAMPLE `version --format json` outputs (written for these specs in the shape
 * Docker 27 and Podman 4.9 print), and the run goes through execFile to a stand-in engine script
 * that prints its arguments, or sleeps (the timeout path), and records `kill`.
 */

// SAMPLE: `docker version --format json` with the daemon up (Docker Engine 27.3.1, Ubuntu 24.04)
const DOCKER_SAMPLE = JSON.stringify({
  Client: {
    Platform: { Name: 'Docker Engine - Community' }, Version: '27.3.1', ApiVersion: '1.47', DefaultAPIVersion: '1.47', GitCommit: 'ce12230',
    GoVersion: 'go1.22.7', Os: 'linux', Arch: 'amd64', BuildTime: 'Fri Sep 20 11:41:00 2024', Context: 'default',
  },
  Server: {
    Platform: { Name: 'Docker Engine - Community' },
    Components: [
      { Name: 'Engine', Version: '27.3.1', Details: { ApiVersion: '1.47', Arch: 'amd64', MinAPIVersion: '1.24', Os: 'linux' } },
      { Name: 'containerd', Version: '1.7.22', Details: { GitCommit: '7f7fdf5fed64eb6a7caf99b3e12efcf9d60e311c' } },
      { Name: 'runc', Version: '1.1.14', Details: { GitCommit: 'v1.1.14-0-g2c9f560' } },
    ],
    Version: '27.3.1', ApiVersion: '1.47', MinAPIVersion: '1.24', GitCommit: '41ca978', GoVersion: 'go1.22.7', Os: 'linux', Arch: 'amd64',
    KernelVersion: '6.8.0-45-generic', BuildTime: '2024-09-20T11:41:00.000000000+00:00',
  },
});
// SAMPLE: the same client with the daemon down (docker prints the client part, Server null, and exits 1)
const DOCKER_NO_DAEMON_SAMPLE = JSON.stringify({ Client: JSON.parse(DOCKER_SAMPLE).Client, Server: null });
// SAMPLE: `podman version --format json`, rootless and local (Podman 4.9.3, Ubuntu 24.04): a Client only
const PODMAN_SAMPLE = JSON.stringify({
  Client: { APIVersion: '4.9.3', Version: '4.9.3', GoVersion: 'go1.22.2', GitCommit: '', BuiltTime: 'Thu Jan  1 00:00:00 1970', Built: 0, OsArch: 'linux/amd64', Os: 'linux' },
});

const answering = (answers: Partial<Record<ContainerEngineKind, string>>) => (engine: ContainerEngineKind): ContainerEngineCli => ({
  run: async (args) => {
    expect(args).toEqual(['version', '--format', 'json']);
    const text = answers[engine];
    if (text === undefined) throw new Error(`${engine} version --format json failed: not found`);
    return text;
  },
});

describe('container engine detection', () => {
  it('reads Docker\'s server version, and no engine when the daemon does not answer', () => {
    expect(engineVersionOf('docker', DOCKER_SAMPLE)).toEqual({ engine: 'docker', version: '27.3.1', apiVersion: '1.47' });
    expect(engineVersionOf('docker', DOCKER_NO_DAEMON_SAMPLE)).toBeNull();
    expect(engineVersionOf('docker', 'Cannot connect to the Docker daemon')).toBeNull();
  });

  it('reads Podman\'s local (client-only) version', () => {
    expect(engineVersionOf('podman', PODMAN_SAMPLE)).toEqual({ engine: 'podman', version: '4.9.3', apiVersion: '4.9.3' });
  });

  it('auto tries Docker, then Podman; a named engine is the only one tried', async () => {
    await expect(detectContainerEngine('auto', answering({ docker: DOCKER_SAMPLE, podman: PODMAN_SAMPLE }))).resolves.toEqual({ found: expect.objectContaining({ engine: 'docker' }) });
    await expect(detectContainerEngine('auto', answering({ docker: DOCKER_NO_DAEMON_SAMPLE, podman: PODMAN_SAMPLE }))).resolves.toEqual({ found: expect.objectContaining({ engine: 'podman' }) });
    const none = await detectContainerEngine('podman', answering({ docker: DOCKER_SAMPLE }));
    expect(none).toEqual({ found: null, reasons: ['podman version --format json failed: not found'] });
  });
});

describe('the agent at start, with the container runtime', () => {
  const config = (env: Record<string, string>) =>
    loadAgentConfig({ GATEWAY_URL: 'http://127.0.0.1:1', CHAIN_ID: '31337', AGENT_KEY_FILE: '/tmp/k', GPU_MODEL: 'H100', VRAM_GIB: '80', REGION: 'eu', ...env });
  const logged = () => {
    const lines: [string, string, Record<string, unknown> | undefined][] = [];
    return { lines, log: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void lines.push([level, message, fields]) };
  };

  it('found: logs the engine and version, passes the GPUs of a GPU node, and registers `container`', async () => {
    const c = config({ ENABLE_CONTAINER_RUNTIME: 'true', CONTAINER_MEMORY_MIB: '8192' });
    const { lines, log } = logged();
    const runtime = await containerRuntimeAtStart(c, { mode: 'gpu' }, log, answering({ podman: PODMAN_SAMPLE }));
    expect(runtime).toEqual({ engine: 'podman', path: 'podman', limits: { ...DEFAULT_CONTAINER_LIMITS, memoryMiB: 8192 }, gpus: true });
    expect(lines).toEqual([['info', expect.stringMatching(/^container engine found/), expect.objectContaining({ engine: 'podman', version: '4.9.3', gpus: true })]]);
    const bench = { kind: 'hash-chain-sha256', score: 1, measuredAt: '2026-01-01T00:00:00.000Z' };
    expect(registrationFor(c, '0xab', bench, runtime !== undefined).runtimes).toEqual(['hash-chain', 'matmul', 'container']);
  });

  it('none found: says so, and registers no `container`; off: looks for none', async () => {
    const c = config({ ENABLE_CONTAINER_RUNTIME: 'true', ENABLE_COMMAND_RUNTIME: 'true' });
    const { lines, log } = logged();
    await expect(containerRuntimeAtStart(c, { mode: 'cpu-only' }, log, answering({}))).resolves.toBeUndefined();
    expect(lines).toEqual([['warn', expect.stringMatching(/^no container engine found/), { engine: 'auto', reasons: [expect.stringMatching(/^docker/), expect.stringMatching(/^podman/)] }]]);
    expect(registrationFor(c, '0xab', { kind: 'k', score: 1, measuredAt: 'now' }).runtimes).toEqual(['hash-chain', 'matmul', 'command']);
    const off = logged();
    await expect(containerRuntimeAtStart(config({}), { mode: 'gpu' }, off.log, answering({ docker: DOCKER_SAMPLE }))).resolves.toBeUndefined();
    expect(off.lines).toEqual([]);
  });

  it('takes an engine path only with a named engine', () => {
    expect(() => config({ CONTAINER_ENGINE_PATH: '/usr/bin/docker' })).toThrow(/CONTAINER_ENGINE_PATH/);
    expect(config({ CONTAINER_ENGINE: 'docker', CONTAINER_ENGINE_PATH: '/usr/bin/docker' }).CONTAINER_ENGINE_PATH).toBe('/usr/bin/docker');
  });
});

describe('container run arguments', () => {
  const limits = { memoryMiB: 2048, cpus: 1.5, pidsMax: 64 };
  const run = { jobId: 'job-1', image: 'ghcr.io/acme/render:1.2@sha256:abc', command: ['render', '--frames', '10'] };
  const hardened = ['--memory', '2048m', '--cpus', '1.5', '--pids-limit', '64', '--read-only', '--security-opt', 'no-new-privileges', '--cap-drop', 'ALL'];

  it('docker, no GPUs, no network: the hardened run', () => {
    expect(containerRunArgs({ engine: 'docker', limits, gpus: false }, run)).toEqual([
      'run', '--rm', '--name', 'starminer-job-1', '--network', 'none', ...hardened, 'ghcr.io/acme/render:1.2@sha256:abc', 'render', '--frames', '10',
    ]);
  });

  it('docker with GPUs and the network the job asked for', () => {
    expect(containerRunArgs({ engine: 'docker', limits, gpus: true }, { ...run, network: true })).toEqual([
      'run', '--rm', '--name', 'starminer-job-1', ...hardened, '--gpus', 'all', 'ghcr.io/acme/render:1.2@sha256:abc', 'render', '--frames', '10',
    ]);
  });

  it('podman with GPUs passes the NVIDIA CDI device; without, none', () => {
    expect(containerRunArgs({ engine: 'podman', limits, gpus: true }, run)).toEqual([
      'run', '--rm', '--name', 'starminer-job-1', '--network', 'none', ...hardened, '--device', 'nvidia.com/gpu=all', 'ghcr.io/acme/render:1.2@sha256:abc', 'render', '--frames', '10',
    ]);
    expect(containerRunArgs({ engine: 'podman', limits, gpus: false }, run)).not.toContain('--device');
  });

  it('names the container for the job in the characters engines accept', () => {
    expect(containerNameOf('job 7/ä')).toBe('starminer-job-7--');
  });
});

describe('container workloads at the node', () => {
  let dir: string;
  let engineLog: string;
  let runtime: ContainerRuntime;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'agent-containers-'));
    engineLog = join(dir, 'engine.log');
    // a stand-in engine (no real one can run here): `run` prints its arguments, sleeps for the image `sleepy`, fails as an engine (125) for `unpullable`; `kill` is recorded
    const engine = join(dir, 'engine');
    writeFileSync(
      engine,
      `#!/bin/sh\necho "$*" >> '${engineLog}'\ncase "$1" in\n  run) case "$*" in *' sleepy '*) exec sleep 10 ;; *' unpullable '*) echo 'Error response from daemon: pull access denied for unpullable' >&2; exit 125 ;; esac; echo "$*"; echo warn >&2; exit 3 ;;\n  kill) exit 0 ;;\n  *) exit 2 ;;\nesac\n`,
    );
    chmodSync(engine, 0o755);
    runtime = { engine: 'docker', path: engine, limits: DEFAULT_CONTAINER_LIMITS, gpus: false };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses an image without the container runtime, and an image that is not a reference; takes one with it even with host commands off', () => {
    const w = { kind: 'command' as const, image: 'alpine:3.20', command: ['true'] };
    expect(refusalOf(w, { commandRuntime: true })?.code).toBe('CONTAINER_IMAGE_UNSUPPORTED');
    expect(refusalOf({ ...w, image: '--privileged' }, { commandRuntime: false, container: runtime })?.code).toBe('CONTAINER_IMAGE_INVALID');
    expect(refusalOf(w, { commandRuntime: false, container: runtime })).toBeUndefined();
    expect(refusalOf({ kind: 'command', command: ['true'] }, { commandRuntime: false, container: runtime })?.code).toBe('COMMAND_RUNTIME_DISABLED');
  });

  it('runs the image through the engine; the output and its hash as for a command', async () => {
    const r = await runWorkload({ kind: 'command', image: 'alpine:3.20', command: ['echo', 'hi'] }, { commandRuntime: false, container: runtime, jobId: 'job-2' });
    const out = JSON.parse(r.output) as { exitCode: number; stdout: string; stderr: string };
    expect(out).toEqual({ exitCode: 3, stdout: `${containerRunArgs(runtime, { jobId: 'job-2', image: 'alpine:3.20', command: ['echo', 'hi'] }).join(' ')}\n`, stderr: 'warn\n' });
    expect(out.stdout).toMatch(/^run --rm --name starminer-job-2 --network none .* alpine:3\.20 echo hi\n$/);
    expect(r.resultHash).toBe(resultHashOf(r.output));
  });

  it('given the engine itself failing (exit 125: an image it cannot pull), the run fails with the engine\'s reason: not a result the node would be paid for', async () => {
    await expect(runContainer(runtime, { jobId: 'job-4', image: 'unpullable', command: ['x'] }, 5_000)).rejects.toMatchObject({
      code: 'CONTAINER_ENGINE_FAILED',
      message: expect.stringMatching(/^docker could not run the container: Error response from daemon: pull access denied for unpullable/),
    });
  });

  it('past its timeout, the run fails and the container is killed by name', async () => {
    await expect(runContainer(runtime, { jobId: 'job-3', image: 'sleepy', command: ['x'] }, 300)).rejects.toMatchObject({ code: 'COMMAND_TIMEOUT' });
    expect(readFileSync(engineLog, 'utf8').split('\n')).toContain('kill starminer-job-3');
  });
});
