import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runHashChain, verifyWorkloadResult } from '@starminer/domain';
import { loadOrCreateNodeKey } from './key';
import { HASH_CHAIN_IN_PROCESS_MAX, RESULT_OUTPUT_CHARS_MAX, preloadsOf, refusalOf, runWorkload, runsLong } from './runtime';

describe('runWorkload', () => {
  it('given a built-in hash chain, returns the result settlement recomputes', async () => {
    const w = { kind: 'hash-chain' as const, seed: 's', iterations: 100 };
    const r = await runWorkload(w, { commandRuntime: false });
    expect(r).toEqual(runHashChain('s', 100));
    expect(verifyWorkloadResult(w, r)).toEqual({ ok: true });
  });

  it('given a built-in on a worker thread, returns the same result while the main thread stays free', async () => {
    const w = { kind: 'hash-chain' as const, seed: 'worker', iterations: 300_000 };
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 10);
    // jest's module system does not reach the worker thread: it loads TypeScript with the stack's SWC hook.
    const r = await runWorkload(w, { commandRuntime: false, builtInOnWorker: true, workerExecArgv: ['--require', join(__dirname, '..', '..', '..', 'tools', 'stack', 'register.cjs')] });
    clearInterval(ticker);
    expect(r).toEqual(runHashChain('worker', 300_000));
    expect(ticks).toBeGreaterThan(5);
  });

  it('sends only long hash chains to a worker', () => {
    expect(runsLong({ kind: 'hash-chain', seed: 's', iterations: HASH_CHAIN_IN_PROCESS_MAX })).toBe(false);
    expect(runsLong({ kind: 'hash-chain', seed: 's', iterations: HASH_CHAIN_IN_PROCESS_MAX + 1 })).toBe(true);
    expect(runsLong({ kind: 'matmul', seed: 's', size: 512 })).toBe(false);
  });

  it('finds the --require preloads among node flags', () => {
    expect(preloadsOf(['--require', '/a.cjs', '--import', 'x', '-r', 'b', '--require=c', '--inspect'])).toEqual(['/a.cjs', 'b', 'c']);
  });

  it('given a command while the runtime is off, refuses with COMMAND_RUNTIME_DISABLED', async () => {
    await expect(runWorkload({ kind: 'command', command: ['echo', 'x'] }, { commandRuntime: false })).rejects.toMatchObject({ code: 'COMMAND_RUNTIME_DISABLED' });
  });

  it('given a command with a container image, refuses it (no container runtime here)', () => {
    expect(refusalOf({ kind: 'command', image: 'alpine', command: ['true'] }, { commandRuntime: true })?.code).toBe('CONTAINER_IMAGE_UNSUPPORTED');
  });

  it('given a command with the runtime on, runs it and returns exit code and output, hashed so settlement accepts it', async () => {
    const w = { kind: 'command' as const, command: ['node', '-e', 'process.stdout.write("hello"); process.exit(3)'] };
    const r = await runWorkload(w, { commandRuntime: true });
    expect(JSON.parse(r.output)).toEqual({ exitCode: 3, stdout: 'hello', stderr: '' });
    expect(r.resultHash).toBe(`0x${createHash('sha256').update(r.output).digest('hex')}`);
    expect(verifyWorkloadResult(w, r)).toEqual({ ok: true });
  });

  it('given a command that runs too long, kills it and fails with COMMAND_TIMEOUT', async () => {
    await expect(runWorkload({ kind: 'command', command: ['node', '-e', 'setTimeout(() => {}, 10000)'] }, { commandRuntime: true, commandTimeoutMs: 300 })).rejects.toMatchObject({
      code: 'COMMAND_TIMEOUT',
    });
  });

  it('given a command with a long output, truncates what it returns to what the gateway accepts', async () => {
    const r = await runWorkload({ kind: 'command', command: ['node', '-e', 'process.stdout.write("x".repeat(50000))'] }, { commandRuntime: true });
    expect(r.output.length).toBeLessThanOrEqual(RESULT_OUTPUT_CHARS_MAX);
    expect(JSON.parse(r.output)).toMatchObject({ exitCode: 0, truncated: true });
  });

  it('given a program that does not exist, fails with COMMAND_SPAWN_FAILED', async () => {
    await expect(runWorkload({ kind: 'command', command: ['/nonexistent/program'] }, { commandRuntime: true })).rejects.toMatchObject({ code: 'COMMAND_SPAWN_FAILED' });
  });
});

describe('loadOrCreateNodeKey', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-key-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('given no key file, creates one with mode 0600; given it, loads the same key', () => {
    const file = join(dir, 'sub', 'node.key');
    const first = loadOrCreateNodeKey(file);
    expect(first.created).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = loadOrCreateNodeKey(file);
    expect(second.created).toBe(false);
    expect(second.account.address).toBe(first.account.address);
  });

  it('given a file that holds no key, refuses it', () => {
    const file = join(dir, 'bad.key');
    writeFileSync(file, 'not a key');
    expect(() => loadOrCreateNodeKey(file)).toThrow(expect.objectContaining({ code: 'NODE_KEY_INVALID' }));
  });
});
