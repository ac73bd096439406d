import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The agent's start as a provider runs it (`node main.ts`), on hosts it reads with nvidia-smi: none
 * (no driver), and the H200 host, whose nvidia-smi answers with its captured output
 * (../shared/data/gpu). The gateway is never reached (nothing listens at GATEWAY_URL): what is
 * checked is what the agent decides before it registers.
 */
const repoRoot = join(__dirname, '../../..');
const GPU_DATA = join(repoRoot, '..', 'shared', 'data', 'gpu');
const MAIN = join(__dirname, 'main.ts');

let dir: string;
let h200Smi: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'agent-start-'));
  // nvidia-smi of the H200 host: each query answers what that host printed for it
  h200Smi = join(dir, 'nvidia-smi');
  writeFileSync(
    h200Smi,
    `#!/bin/sh\ncase "$1" in\n  -q) cat '${GPU_DATA}/h200-nvidia-smi-q.xml' ;;\n  conf-compute) cat '${GPU_DATA}/h200-conf-compute.txt' ;;\n  --query-gpu=*) cat '${GPU_DATA}/h200-query-gpu.csv' ;;\n  *) echo "unexpected: $*" >&2; exit 2 ;;\nesac\n`,
  );
  chmodSync(h200Smi, 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  lines: Record<string, unknown>[];
}

/** Starts the agent; when `until` matches a log line, stops it with SIGTERM; resolves when it exits. */
function startAgent(env: Record<string, string>, until?: (line: Record<string, unknown>) => boolean): Promise<Run> {
  const child = spawn(process.execPath, ['-r', join(repoRoot, 'tools/stack/register.cjs'), MAIN], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      GATEWAY_URL: 'http://127.0.0.1:9',
      CHAIN_ID: '31337',
      AGENT_NAME: 'start-spec',
      REGION: 'eu-west',
      BENCHMARK_MS: '100',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let buffered = '';
  const read = (chunk: Buffer): void => {
    buffered += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        line = { msg: text };
      }
      lines.push(line);
      if (until?.(line)) child.kill('SIGTERM');
    }
  };
  child.stdout.on('data', read);
  child.stderr.on('data', read);
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, lines })));
}

const said = (run: Run, msg: string) => run.lines.find((l) => l['msg'] === msg);

describe('the agent at start', () => {
  it('without nvidia-smi (no GPU), refuses to start unless told to run CPU-only, and makes no node key', async () => {
    const keyFile = join(dir, 'no-gpu.key');
    const run = await startAgent({ AGENT_KEY_FILE: keyFile, GPU_MODEL: 'H100', VRAM_GIB: '80', NVIDIA_SMI_PATH: join(dir, 'no-such-nvidia-smi') });
    expect(run.code).toBe(1);
    expect(said(run, 'provider-agent failed')).toMatchObject({ code: 'NO_GPU', message: expect.stringMatching(/was not found.*set AGENT_CPU_ONLY=true/) });
    expect(existsSync(keyFile)).toBe(false);
  }, 60_000);

  it('CPU-only (AGENT_CPU_ONLY=true), starts without GPUs and goes on to register its declared profile with the CPU figure', async () => {
    const run = await startAgent(
      { AGENT_KEY_FILE: join(dir, 'cpu.key'), GPU_MODEL: 'H100', VRAM_GIB: '80', AGENT_CPU_ONLY: 'true', NVIDIA_SMI_PATH: join(dir, 'no-such-nvidia-smi') },
      (l) => l['msg'] === 'registration failed; retrying',
    );
    expect(run.code).toBe(0);
    expect(said(run, 'benchmark')).toMatchObject({ kind: 'hash-chain-sha256' });
    expect(said(run, 'registration failed; retrying')).toBeDefined();
  }, 60_000);

  it('with the container runtime on and no engine on this host, says so and goes on to register without it', async () => {
    const run = await startAgent(
      {
        AGENT_KEY_FILE: join(dir, 'container.key'), GPU_MODEL: 'H100', VRAM_GIB: '80', AGENT_CPU_ONLY: 'true', NVIDIA_SMI_PATH: join(dir, 'no-such-nvidia-smi'),
        ENABLE_CONTAINER_RUNTIME: 'true', CONTAINER_ENGINE: 'docker', CONTAINER_ENGINE_PATH: join(dir, 'no-such-docker'),
      },
      (l) => l['msg'] === 'registration failed; retrying',
    );
    expect(run.code).toBe(0);
    const none = run.lines.find((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('no container engine found'));
    expect(none).toMatchObject({ engine: 'docker', reasons: [expect.stringContaining('no-such-docker version --format json failed: not found')] });
  }, 60_000);

  it('on the H200 host declared as an H100, refuses to start naming the difference', async () => {
    const keyFile = join(dir, 'mismatch.key');
    const run = await startAgent({ AGENT_KEY_FILE: keyFile, GPU_MODEL: 'H100', VRAM_GIB: '80', NVIDIA_SMI_PATH: h200Smi });
    expect(run.code).toBe(1);
    expect(said(run, 'provider-agent failed')).toMatchObject({ code: 'PROFILE_MISMATCH', message: expect.stringContaining("GPU_MODEL is H100 but the GPUs are H200 ('NVIDIA H200')") });
    expect(existsSync(keyFile)).toBe(false);
  }, 60_000);

  it('on the H200 host declared as it is, detects it and, with no torch runtime, registers the CPU figure', async () => {
    const run = await startAgent(
      { AGENT_KEY_FILE: join(dir, 'h200.key'), GPU_MODEL: 'H200', VRAM_GIB: '141', NVIDIA_SMI_PATH: h200Smi, GPU_BENCHMARK_PYTHON: join(dir, 'no-such-python') },
      (l) => l['msg'] === 'registration failed; retrying',
    );
    expect(run.code).toBe(0);
    expect(said(run, 'GPUs detected')).toMatchObject({ model: 'H200', count: 1, vramMiB: 143771, driver: '580.159.04', cuda: '13.0', computeCapability: '9.0', mig: ['disabled'], confidentialCompute: 'off' });
    expect(said(run, 'GPU benchmark unavailable; registering the CPU figure')).toMatchObject({ code: 'BENCHMARK_FAILED' });
    expect(said(run, 'benchmark')).toMatchObject({ kind: 'hash-chain-sha256' });
  }, 60_000);
});
