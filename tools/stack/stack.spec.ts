import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privateKeyToAccount } from 'viem/accounts';
import { devAccount } from '@starminer/chain';
import { isRecentEnough } from './nats-binary';
import { ManagedProcess } from './processes';
import { loadOrCreateSecrets } from './stack';

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

  it('given a service that dies on its own, restarts it; given it keeps dying, gives up after RESTARTS_MAX', async () => {
    const lines: string[] = [];
    const p = new ManagedProcess({ name: 'crasher', command: process.execPath, args: ['-e', 'process.exit(3)'], restart: true }, (l) => lines.push(l));
    p.start();
    for (let i = 0; i < 20 && !lines.some((l) => l.includes('restarting in')); i += 1) await new Promise((r) => setTimeout(r, 50));
    expect(lines).toContain('[crasher] exited on its own (code 3, signal null)');
    expect(lines.some((l) => l.startsWith('[crasher] restarting in 1000 ms (1/5)'))).toBe(true);
    expect(p.gaveUp).toBe(false);
    await p.stop(); // cancels the pending restart
    await new Promise((r) => setTimeout(r, 1_200));
    expect(lines.filter((l) => l.includes('exited on its own'))).toHaveLength(1);
  });
});
