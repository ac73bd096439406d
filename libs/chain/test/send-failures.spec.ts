import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import {
  createChainClients,
  deployMarket,
  devAccount,
  mintAgpu,
  observeChainTxs,
  sendFailureReasonOf,
  sendTx,
  startAnvil,
  type AnvilHandle,
  type ChainTxObservation,
  type MarketAddresses,
} from '../src';

/**
 * A chain action that fails before any transaction exists (the simulation reverts, the key cannot
 * pay for gas, its nonce is off, the RPC does not answer) is told to the client's observer with a
 * bounded reason, as the metrics count it (starminer_chain_tx_failures_total{reason}); on a real
 * anvil, each failure made for real.
 */
let anvil: AnvilHandle;
let addresses: MarketAddresses;
let clients: ReturnType<typeof createChainClients>;
const seen: ChainTxObservation[] = [];

beforeAll(async () => {
  anvil = await startAnvil();
  clients = createChainClients(anvil.rpcUrl, anvil.chainId);
  const admin = devAccount(0);
  addresses = await deployMarket(clients.wallet(admin), clients.publicClient, { admin: admin.address, deployer: admin.address, settlement: admin.address, minter: admin.address });
  observeChainTxs(clients.publicClient, (o) => seen.push(o));
}, 120_000);

afterAll(async () => {
  await anvil?.stop();
});

/** The observations made while `fn` ran (it is expected to fail). */
async function failuresOf(fn: () => Promise<unknown>): Promise<ChainTxObservation[]> {
  const before = seen.length;
  await expect(fn()).rejects.toThrow();
  return seen.slice(before);
}

describe('a chain action that fails before it is sent', () => {
  it('a reverting simulation (mint without MINTER_ROLE): reason revert, no hash', async () => {
    const stranger = devAccount(5);
    const got = await failuresOf(() => mintAgpu(clients.wallet(stranger), clients.publicClient, { token: addresses.token, to: stranger.address, amountWei: 1n }));
    expect(got).toEqual([expect.objectContaining({ action: 'mintAgpu', sendFailure: 'revert' })]);
    expect(got[0].hash).toBeUndefined();
  });

  it('a key with no ether for gas: reason insufficient_funds', async () => {
    const broke = privateKeyToAccount(generatePrivateKey());
    const got = await failuresOf(() => sendTx(clients.publicClient, 'transfer', () => clients.wallet(broke).sendTransaction({ to: devAccount(1).address, value: parseEther('1') })));
    expect(got).toEqual([expect.objectContaining({ action: 'transfer', sendFailure: 'insufficient_funds' })]);
  });

  it('a nonce already used: reason nonce', async () => {
    const admin = devAccount(0);
    const got = await failuresOf(() => sendTx(clients.publicClient, 'transfer', () => clients.wallet(admin).sendTransaction({ to: devAccount(1).address, value: 1n, nonce: 0 })));
    expect(got).toEqual([expect.objectContaining({ action: 'transfer', sendFailure: 'nonce' })]);
  });

  it('an RPC that does not answer (a port that closes every connection): reason rpc', async () => {
    const dead = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    try {
      const offline = createChainClients(`http://127.0.0.1:${(dead.address() as AddressInfo).port}`, anvil.chainId);
      const got: ChainTxObservation[] = [];
      observeChainTxs(offline.publicClient, (o) => got.push(o));
      const admin = devAccount(0);
      await expect(mintAgpu(offline.wallet(admin), offline.publicClient, { token: addresses.token, to: admin.address, amountWei: 1n })).rejects.toThrow();
      expect(got).toEqual([expect.objectContaining({ action: 'mintAgpu', sendFailure: 'rpc' })]);
    } finally {
      await new Promise<void>((resolve) => dead.close(() => resolve()));
    }
  }, 60_000);

  it('anything else is other, and a sent transaction is observed with its hash, gas and block, no failure', async () => {
    expect(sendFailureReasonOf(new Error('not from viem'))).toBe('other');
    const admin = devAccount(0);
    const before = seen.length;
    await mintAgpu(clients.wallet(admin), clients.publicClient, { token: addresses.token, to: admin.address, amountWei: 1n });
    const got = seen.slice(before);
    expect(got).toEqual([expect.objectContaining({ action: 'mintAgpu', hash: expect.stringMatching(/^0x[0-9a-f]{64}$/) })]);
    expect(got[0].sendFailure).toBeUndefined();
    expect(got[0].gasUsed).toBeGreaterThan(21_000n);
    expect(got[0].blockNumber).toBeGreaterThan(0n);
  });
});
