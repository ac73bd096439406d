import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { DEV_MNEMONIC } from './accounts';
import { ChainActionError } from './errors';

export const ANVIL_DEFAULT_CHAIN_ID = 31337;
export const ANVIL_READY_TIMEOUT_MS = 20_000;
export const ANVIL_STOP_TIMEOUT_MS = 10_000;
/**
 * With a state file, anvil also dumps every second (and on a clean stop, SIGINT), so a kill -9 loses
 * at most about a second of chain: what the market's reconcilers re-drive from the log.
 */
export const ANVIL_STATE_INTERVAL_SEC = 1;

export interface StartAnvilOptions {
  port?: number;
  /** Load the chain from this file when it exists; dump it there on exit and every few seconds. */
  stateFile?: string;
  /** Mine a block every N seconds; default: mine on every transaction. */
  blockTimeSec?: number;
  chainId?: number;
  mnemonic?: string;
  /** Extra anvil flags, e.g. ['--code-size-limit', '50000']. */
  extraArgs?: string[];
}

export interface AnvilHandle {
  rpcUrl: string;
  chainId: number;
  port: number;
  /** The local anvil's process; undefined when the chain runs elsewhere (a container): nothing of ours to signal. */
  pid: number | undefined;
  stop(): Promise<void>;
}

/** The anvil binary from @foundry-rs/anvil-linux-amd64, else `anvil` on PATH. */
export function anvilBinary(): string {
  try {
    const pkg = require.resolve('@foundry-rs/anvil-linux-amd64/package.json');
    const bin = `${dirname(pkg)}/bin/anvil`;
    if (existsSync(bin)) return bin;
  } catch {
    /* not installed for this platform */
  }
  return 'anvil';
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function rpcAnswers(rpcUrl: string): Promise<boolean> {
  try {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(1_000),
    });
    return res.ok;
  } catch {
    return false;
  }
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * anvil's command line for these options on `port` (the stack supervises anvil with it: the same
 * arguments restart it from its state file on the same port). Creates the state file's folder.
 */
export function anvilArgs(opts: StartAnvilOptions & { port: number }): string[] {
  const chainId = opts.chainId ?? ANVIL_DEFAULT_CHAIN_ID;
  const args = ['--host', '127.0.0.1', '--port', String(opts.port), '--chain-id', String(chainId), '--mnemonic', opts.mnemonic ?? DEV_MNEMONIC];
  if (opts.blockTimeSec !== undefined) args.push('--block-time', String(opts.blockTimeSec));
  if (opts.stateFile) {
    mkdirSync(dirname(opts.stateFile), { recursive: true });
    args.push('--state', opts.stateFile, '--state-interval', String(ANVIL_STATE_INTERVAL_SEC));
  }
  args.push(...(opts.extraArgs ?? []));
  return args;
}

/** Whether anvil's JSON-RPC at `rpcUrl` answers eth_chainId. */
export async function anvilAnswers(rpcUrl: string): Promise<boolean> {
  return rpcAnswers(rpcUrl);
}

/** Tries on fresh ports when anvil finds the port it was given taken (see startAnvil). */
const ANVIL_PORT_ATTEMPTS = 3;

/**
 * Spawn anvil and resolve once its RPC answers. `stop()` lets it dump its state (SIGINT), then
 * kills it if it hangs. Without `opts.port` it takes a free port; one that is taken by the time
 * anvil binds it (any outgoing connection may use it as its source port meanwhile) is replaced by
 * another, at most ANVIL_PORT_ATTEMPTS times.
 */
export async function startAnvil(opts: StartAnvilOptions = {}): Promise<AnvilHandle> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startAnvilOn(opts, opts.port ?? (await freePort()));
    } catch (err) {
      const taken = err instanceof ChainActionError && /Address already in use/i.test(err.message);
      if (opts.port !== undefined || !taken || attempt >= ANVIL_PORT_ATTEMPTS) throw err;
    }
  }
}

async function startAnvilOn(opts: StartAnvilOptions, port: number): Promise<AnvilHandle> {
  const chainId = opts.chainId ?? ANVIL_DEFAULT_CHAIN_ID;
  const args = anvilArgs({ ...opts, port });

  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // Ready only once *this* process says it listens: another anvil on a taken port would answer RPC too.
  let listening = false;
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    if (listening) return;
    stdout = (stdout + chunk.toString()).slice(-4_000);
    if (stdout.includes('Listening on')) listening = true;
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  let spawnError: Error | undefined;
  child.on('error', (err) => {
    spawnError = err;
  });
  let stopping = false;
  child.on('exit', (code, signal) => {
    // An anvil that goes away on its own takes the chain with it: say so, with what it said last.
    if (!stopping && listening) console.error(`anvil on port ${port} exited (code ${code}, signal ${signal}): ${stderr.slice(-500)}`);
  });
  // If the parent exits without stop(), do not leave an orphan anvil behind.
  const onExit = (): void => {
    child.kill('SIGINT');
  };
  process.once('exit', onExit);

  const rpcUrl = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    stopping = true;
    process.removeListener('exit', onExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT');
    if (!(await waitExit(child, ANVIL_STOP_TIMEOUT_MS))) {
      child.kill('SIGKILL');
      await waitExit(child, ANVIL_STOP_TIMEOUT_MS);
    }
  };

  const started = Date.now();
  for (;;) {
    if (spawnError || child.exitCode !== null) {
      await stop();
      throw new ChainActionError('AnvilStartFailed', `anvil did not start: ${spawnError?.message ?? `exit ${child.exitCode}`} ${stderr}`, { cause: spawnError });
    }
    if (listening && (await rpcAnswers(rpcUrl))) break;
    if (Date.now() - started > ANVIL_READY_TIMEOUT_MS) {
      await stop();
      throw new ChainActionError('AnvilStartFailed', `anvil on ${rpcUrl} did not answer within ${ANVIL_READY_TIMEOUT_MS} ms: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { rpcUrl, chainId, port, pid: child.pid ?? -1, stop };
}
