import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, createWalletClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ANVIL_STATE_INTERVAL_SEC, anvilAnswers, devAccount, localChain } from '@starminer/chain';
import { eventually, freePort } from '@starminer/testing';
import { canEnter, DataDirUnreachableError, foldersDownTo, preparePostgresDataDir } from './data-dir';
import { isRecentEnough } from './nats-binary';
import { ManagedProcess, RESTART_DELAY_MAX_MS, RESTART_DELAY_MS, RESTART_WINDOW_MS, RESTARTS_PER_WINDOW_MAX, restartDecision } from './processes';
import { ANVIL_CHAIN_ID, keepAnvilState, loadOrCreateSecrets, startStack, startSupervisedAnvil, type Stoppable } from './stack';

describe('isRecentEnough (the trade log needs nats-server 2.10+)', () => {
  it.each([
    [[2, 9, 10], false],
    [[2, 10, 0], true],
    [[2, 10, 27], true],
    [[2, 11, 0], true],
    [[3, 0, 0], true],
    [[1, 99, 99], false],
  ])('given %j, answers %s', (v, ok) => {
    expect(isRecentEnough(v)).toBe(ok);
  });
});

describe('loadOrCreateSecrets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stack-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('given a fresh data dir, writes the secrets once (mode 0600) and returns the same ones on the next start', () => {
    const first = loadOrCreateSecrets(dir);
    expect(statSync(join(dir, 'secrets.json')).mode & 0o777).toBe(0o600);
    expect(first.operatorToken.length).toBeGreaterThanOrEqual(16);
    expect(first.custodyMnemonic.split(' ')).toHaveLength(12);
    expect(loadOrCreateSecrets(dir)).toEqual(first);
  });

  it("gives the gateway a node session secret of at least 32 bytes, and adds one to a data dir made before it, keeping the other secrets", () => {
    const s = loadOrCreateSecrets(dir);
    expect(Buffer.byteLength(s.nodeSessionSecret, 'utf8')).toBeGreaterThanOrEqual(32);
    const old = mkdtempSync(join(tmpdir(), 'stack-secrets-old-'));
    try {
      const { nodeSessionSecret: _dropped, ...before } = s;
      writeFileSync(join(old, 'secrets.json'), JSON.stringify(before), { mode: 0o600 });
      const upgraded = loadOrCreateSecrets(old);
      expect(upgraded).toMatchObject(before);
      expect(Buffer.byteLength(upgraded.nodeSessionSecret, 'utf8')).toBeGreaterThanOrEqual(32);
      expect(loadOrCreateSecrets(old)).toEqual(upgraded);
      expect(statSync(join(old, 'secrets.json')).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  });

  it('uses anvil dev accounts 1..3 for the deployer, settlement and minter roles', () => {
    const s = loadOrCreateSecrets(dir);
    expect(privateKeyToAccount(s.deployerPrivateKey).address).toBe(devAccount(1).address);
    expect(privateKeyToAccount(s.settlementPrivateKey).address).toBe(devAccount(2).address);
    expect(privateKeyToAccount(s.minterPrivateKey).address).toBe(devAccount(3).address);
  });
});

describe('ManagedProcess', () => {
  it('prefixes every output line with its name and stops the child on stop()', async () => {
    const lines: string[] = [];
    const p = new ManagedProcess({ name: 'echoer', command: process.execPath, args: ['-e', 'console.log("one\\ntwo"); console.error("three"); setInterval(() => {}, 1000)'] }, (l) => lines.push(l));
    p.start();
    for (let i = 0; i < 100 && lines.length < 3; i += 1) await new Promise((r) => setTimeout(r, 50));
    expect(lines.sort()).toEqual(['[echoer] one', '[echoer] three', '[echoer] two']);
    expect(p.running).toBe(true);
    await p.stop();
    expect(p.running).toBe(false);
  });

  it('given a service that dies on its own, restarts it; stop() cancels a pending restart', async () => {
    const lines: string[] = [];
    const p = new ManagedProcess({ name: 'crasher', command: process.execPath, args: ['-e', 'process.exit(3)'], restart: true }, (l) => lines.push(l));
    p.start();
    for (let i = 0; i < 40 && !lines.some((l) => l.includes('restarting in')); i += 1) await new Promise((r) => setTimeout(r, 50));
    expect(lines).toContain('[crasher] exited on its own (code 3, signal null)');
    expect(lines.some((l) => l.startsWith(`[crasher] restarting in ${RESTART_DELAY_MS} ms (1/${RESTARTS_PER_WINDOW_MAX} within ${RESTART_WINDOW_MS} ms)`))).toBe(true);
    expect(p.gaveUp).toBe(false);
    await p.stop(); // cancels the pending restart
    await new Promise((r) => setTimeout(r, RESTART_DELAY_MS + 200));
    expect(lines.filter((l) => l.includes('exited on its own'))).toHaveLength(1);
  });

  it('given a crash loop, gives up after the window\'s limit of restarts', async () => {
    const lines: string[] = [];
    const p = new ManagedProcess(
      { name: 'looper', command: process.execPath, args: ['-e', 'process.exit(3)'], restart: true, restartWindow: { max: 3, windowMs: 60_000, baseDelayMs: 20 } },
      (l) => lines.push(l),
    );
    p.start();
    for (let i = 0; i < 200 && !p.gaveUp; i += 1) await new Promise((r) => setTimeout(r, 50));
    expect(p.gaveUp).toBe(true);
    expect(p.restarts).toBe(3);
    expect(lines.filter((l) => l.includes('exited on its own'))).toHaveLength(4);
    expect(lines).toContain('[looper] gave up: 3 restarts within 60000 ms');
  });

  it('given crashes further apart than the window, keeps restarting past the limit (the limit is per window, not per lifetime)', async () => {
    const lines: string[] = [];
    // lives 400 ms each time; the window is 300 ms, so each crash finds the last restart out of the window
    const p = new ManagedProcess(
      { name: 'sometimes', command: process.execPath, args: ['-e', 'setTimeout(() => process.exit(3), 400)'], restart: true, restartWindow: { max: 1, windowMs: 300, baseDelayMs: 20 } },
      (l) => lines.push(l),
    );
    p.start();
    for (let i = 0; i < 400 && p.restarts < 4; i += 1) await new Promise((r) => setTimeout(r, 50));
    expect(p.restarts).toBeGreaterThanOrEqual(4);
    expect(p.gaveUp).toBe(false);
    await p.stop();
  });
});

describe('restartDecision (bounded backoff within the window)', () => {
  it('doubles the delay with each restart in the window up to the cap, then gives up at the limit', () => {
    const limits = { max: 6, baseMs: 1_000, capMs: 5_000 };
    expect([0, 1, 2, 3, 4, 5].map((n) => restartDecision(n, limits))).toEqual([
      { giveUp: false, delayMs: 1_000 },
      { giveUp: false, delayMs: 2_000 },
      { giveUp: false, delayMs: 4_000 },
      { giveUp: false, delayMs: 5_000 },
      { giveUp: false, delayMs: 5_000 },
      { giveUp: false, delayMs: 5_000 },
    ]);
    expect(restartDecision(6, limits)).toEqual({ giveUp: true });
    expect(restartDecision(0)).toEqual({ giveUp: false, delayMs: RESTART_DELAY_MS });
    expect(restartDecision(RESTARTS_PER_WINDOW_MAX)).toEqual({ giveUp: true });
    expect(RESTART_DELAY_MAX_MS).toBeGreaterThanOrEqual(RESTART_DELAY_MS);
  });
});

describe('anvil, supervised', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stack-anvil-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('given anvil is killed (-9), restarts it on the same port from its state file: the chain keeps its blocks and balances', async () => {
    const stateFile = join(dir, 'chain', 'state.json');
    const port = await freePort();
    const started: Stoppable[] = [];
    const lines: string[] = [];
    try {
      const anvil = await startSupervisedAnvil(stateFile, port, (l) => lines.push(l), started);
      const chain = createPublicClient({ transport: http(anvil.rpcUrl) });
      const wallet = createWalletClient({ account: devAccount(5), chain: localChain(anvil.rpcUrl, ANVIL_CHAIN_ID), transport: http(anvil.rpcUrl) });
      const to = devAccount(6).address;
      const before = await chain.getBalance({ address: to });
      const hash = await wallet.sendTransaction({ to, value: 12_345n });
      await chain.waitForTransactionReceipt({ hash });
      const block = await chain.getBlockNumber();
      // past one state interval (and the dump it takes), so the dump holds the transfer
      await new Promise((r) => setTimeout(r, (ANVIL_STATE_INTERVAL_SEC + 1) * 1_000));
      const pid = anvil.process.pid!;
      process.kill(pid, 'SIGKILL');
      await eventually(async () => anvil.process.running && anvil.process.pid !== pid && (await anvilAnswers(anvil.rpcUrl)), 30_000, 100);
      expect(await chain.getBlockNumber()).toBeGreaterThanOrEqual(block);
      expect(await chain.getBalance({ address: to })).toBe(before + 12_345n);
      expect(lines.some((l) => l.includes('[anvil] restarting in'))).toBe(true);
    } finally {
      for (const s of started.reverse()) await s.stop();
    }
  });

  it('keepAnvilState: a state file cut short by a kill is replaced by the last whole copy', () => {
    const file = join(dir, 'keep', 'state.json');
    mkdirSync(join(dir, 'keep'), { recursive: true });
    expect(keepAnvilState(file)).toBe('none');
    writeFileSync(file, '{"block":{"number":"0x7"}}');
    expect(keepAnvilState(file)).toBe('kept');
    writeFileSync(file, '{"block":{"num');
    expect(keepAnvilState(file)).toBe('restored');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ block: { number: '0x7' } });
    expect(readFileSync(`${file}.broken`, 'utf8')).toBe('{"block":{"num');
  });
});

describe('the data dir of the embedded Postgres', () => {
  const base = mkdtempSync(join(tmpdir(), 'stack-datadir-'));
  afterAll(() => rmSync(base, { recursive: true, force: true }));
  const other = { name: 'postgres', uid: 54_321, gid: 54_321 };

  it('canEnter reads the search bit of owner, group or others', () => {
    expect(canEnter({ mode: 0o700, uid: 0, gid: 0 }, other)).toBe(false);
    expect(canEnter({ mode: 0o701, uid: 0, gid: 0 }, other)).toBe(true);
    expect(canEnter({ mode: 0o710, uid: 0, gid: other.gid }, other)).toBe(true);
    expect(canEnter({ mode: 0o100, uid: other.uid, gid: 0 }, other)).toBe(true);
    expect(canEnter({ mode: 0o077, uid: other.uid, gid: 0 }, other)).toBe(false);
    expect(foldersDownTo('/a/b')).toEqual(['/', '/a', '/a/b']);
  });

  it('given a private data dir (0700), makes it enterable but not listable by the Postgres user', () => {
    const dataDir = join(base, 'private-data');
    mkdirSync(dataDir, { mode: 0o700 });
    chmodSync(base, 0o755);
    const logged: string[] = [];
    const tmp = preparePostgresDataDir(dataDir, (l) => logged.push(l), other);
    expect(statSync(dataDir).mode & 0o777).toBe(0o711);
    expect(tmp).toBe(join(dataDir, 'pg-tmp'));
    expect(statSync(tmp!).mode & 0o777).toBe(0o700);
    expect(logged.join('\n')).toContain('made enterable');
  });

  it('given a data dir inside a private folder, refuses with a message naming that folder and what to do', () => {
    const priv = join(base, 'private-parent');
    mkdirSync(join(priv, 'data'), { recursive: true });
    chmodSync(priv, 0o700);
    chmodSync(base, 0o755);
    expect(() => preparePostgresDataDir(join(priv, 'data'), () => undefined, other)).toThrow(DataDirUnreachableError);
    try {
      preparePostgresDataDir(join(priv, 'data'), () => undefined, other);
    } catch (err) {
      expect((err as DataDirUnreachableError).folder).toBe(priv);
      expect((err as Error).message).toMatch(/cannot enter .*private-parent \(mode 0700.*STARMINER_DATA_DIR.*chmod o\+x.*DATABASE_URL/s);
    }
  });

  (process.getuid?.() === 0 ? it : it.skip)('as root, startStack refuses such a data dir with DATA_DIR_UNREACHABLE (no stack trace from initdb)', async () => {
    const priv = join(base, 'private-stack');
    mkdirSync(join(priv, 'data'), { recursive: true });
    chmodSync(priv, 0o700);
    chmodSync(base, 0o755);
    const ports = { nats: await freePort(), postgres: await freePort(), anvil: await freePort(), gateway: await freePort(), services: await freePort() };
    const previous = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    try {
      await expect(startStack({ dataDir: join(priv, 'data'), ports, log: () => undefined })).rejects.toMatchObject({ name: 'StackError', code: 'DATA_DIR_UNREACHABLE' });
    } finally {
      if (previous !== undefined) process.env.DATABASE_URL = previous;
    }
  }, 60_000);
});
