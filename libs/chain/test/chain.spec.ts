import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keccak256, stringToBytes } from 'viem';
import {
  ChainActionError,
  DEV_MNEMONIC,
  agpuBalance,
  createChainClients,
  custodialAccount,
  deployMarket,
  devAccount,
  jobIdToBytes32,
  mintAgpu,
  readComputeContract,
  startAnvil,
  toChainActionError,
} from '../src';

describe('accounts and ids', () => {
  it('derives anvil\'s well-known dev accounts and custodial HD accounts', () => {
    expect(devAccount(0).address).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
    expect(DEV_MNEMONIC.split(' ')).toHaveLength(12);
    const a = custodialAccount(DEV_MNEMONIC, 1);
    expect(a.address).toBe(devAccount(1).address);
    expect(custodialAccount(DEV_MNEMONIC, 2).address).not.toBe(a.address);
    expect(() => custodialAccount(DEV_MNEMONIC, -1)).toThrow(RangeError);
    expect(() => custodialAccount(DEV_MNEMONIC, 1.5)).toThrow(RangeError);
  });

  it('maps a job id to keccak256 of its UTF-8 bytes', () => {
    expect(jobIdToBytes32('job-1')).toBe(keccak256(stringToBytes('job-1')));
    expect(jobIdToBytes32('01890a5d-ac96-774b-bcce-b302099a8057')).toMatch(/^0x[0-9a-f]{64}$/);
    expect(() => jobIdToBytes32('')).toThrow(RangeError);
  });
});

describe('startAnvil', () => {
  it('starts on a free port, and a restart with the same state file resumes the same chain', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'anvil-state-'));
    const stateFile = join(dir, 'chain.json');
    try {
      const first = await startAnvil({ stateFile, chainId: 31_338 });
      expect(first.rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const c1 = createChainClients(first.rpcUrl, first.chainId);
      expect(await c1.publicClient.getChainId()).toBe(31_338);
      const admin = devAccount(0);
      const addresses = await deployMarket(c1.wallet(admin), c1.publicClient, { admin: admin.address, deployer: admin.address, settlement: admin.address, minter: admin.address });
      const holder = custodialAccount(DEV_MNEMONIC, 7).address;
      await mintAgpu(c1.wallet(admin), c1.publicClient, { token: addresses.token, to: holder, amountWei: 42n });
      await first.stop();
      expect(existsSync(stateFile)).toBe(true);

      const second = await startAnvil({ stateFile, chainId: 31_338 });
      const c2 = createChainClients(second.rpcUrl, second.chainId);
      expect(await agpuBalance(c2.publicClient, { token: addresses.token, account: holder })).toBe(42n);
      expect((await readComputeContract(c2.publicClient, { addresses, jobId: 'x' })).status).toBe('none');
      await second.stop();
      await second.stop(); // idempotent
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('mines on a block time when asked', async () => {
    const anvil = await startAnvil({ blockTimeSec: 1 });
    try {
      const { publicClient } = createChainClients(anvil.rpcUrl, anvil.chainId);
      const b0 = await publicClient.getBlockNumber();
      // no transaction is sent: only the interval can mine (polled, the machine may be loaded)
      let b = b0;
      for (let i = 0; i < 100 && b <= b0 + 1n; i++) {
        await new Promise((r) => setTimeout(r, 100));
        b = await publicClient.getBlockNumber({ cacheTime: 0 });
      }
      expect(b).toBeGreaterThan(b0 + 1n);
    } finally {
      await anvil.stop();
    }
  });

  it('fails with AnvilStartFailed when the port is taken', async () => {
    const anvil = await startAnvil();
    try {
      await expect(startAnvil({ port: anvil.port })).rejects.toMatchObject({ code: 'AnvilStartFailed' });
    } finally {
      await anvil.stop();
    }
  });
});

describe('ChainActionError', () => {
  it('reports an unreachable chain as ChainUnavailable, keeping the cause', async () => {
    const { publicClient } = createChainClients('http://127.0.0.1:1', 31337);
    const err = await agpuBalance(publicClient, { token: devAccount(0).address, account: devAccount(1).address }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChainActionError);
    expect((err as ChainActionError).code).toBe('ChainUnavailable');
    expect((err as ChainActionError).cause).toBeDefined();
    expect(toChainActionError(err, 'again')).toBe(err);
    expect(toChainActionError(new Error('boom'), 'x').code).toBe('ChainUnavailable');
  });
});
