import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditUsageError, parseAddresses, requireChain } from './config';

const addresses = { token: `0x${'1'.repeat(40)}`, escrow: `0x${'2'.repeat(40)}`, anchor: `0x${'3'.repeat(40)}`, deployBlock: 7 };

describe("the auditor's market addresses", () => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads JSON, a file of it, and the local stack record ({ chainId, addresses })', () => {
    const file = join(dir, 'addresses.json');
    writeFileSync(file, JSON.stringify({ chainId: 31337, addresses }));
    expect(parseAddresses(JSON.stringify(addresses))).toEqual(addresses);
    expect(parseAddresses(`@${file}`)).toEqual(addresses);
    expect(parseAddresses(undefined)).toBeUndefined();
  });

  it('refuses what is not the market addresses as a usage error naming the field', () => {
    expect(() => parseAddresses('{not json')).toThrow(AuditUsageError);
    expect(() => parseAddresses(JSON.stringify({ ...addresses, escrow: 'nope' }))).toThrow(/escrow/);
  });

  it('asks for the RPC and the addresses only of the commands that read the chain', () => {
    const cfg = { natsUrl: 'nats://x', stream: 'TRADE', subjectPrefix: 'trade', json: true };
    expect(() => requireChain(cfg)).toThrow(/--rpc/);
    expect(() => requireChain({ ...cfg, rpcUrl: 'http://127.0.0.1:8545' })).toThrow(/--addresses/);
    expect(requireChain({ ...cfg, rpcUrl: 'http://127.0.0.1:8545', addresses: parseAddresses(JSON.stringify(addresses)) })).toMatchObject({ chainId: 31337 });
  });
});
