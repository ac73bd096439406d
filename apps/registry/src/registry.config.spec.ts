import { NODE_HEARTBEAT_TIMEOUT_MS } from '@starminer/domain';
import { ConfigError, loadConfig } from '@starminer/service-kit';
import { chainConfigured, registryConfigSchema } from './registry.config';

const BASE = { DATABASE_URL: 'postgres://localhost/starminer' };
const ADDRESSES = JSON.stringify({ token: `0x${'01'.repeat(20)}`, escrow: `0x${'02'.repeat(20)}`, staking: `0x${'03'.repeat(20)}` });

describe('the registry configuration', () => {
  it('given no timeout, then the market default; given one, then it', () => {
    expect(loadConfig(registryConfigSchema, BASE).REGISTRY_NODE_TIMEOUT_MS).toBe(NODE_HEARTBEAT_TIMEOUT_MS);
    expect(loadConfig(registryConfigSchema, { ...BASE, REGISTRY_NODE_TIMEOUT_MS: '2500' }).REGISTRY_NODE_TIMEOUT_MS).toBe(2_500);
  });

  it.each(['999', '0', 'soon', '1.5e3x'])('given REGISTRY_NODE_TIMEOUT_MS=%s, then the boot fails naming it', (value) => {
    expect(() => loadConfig(registryConfigSchema, { ...BASE, REGISTRY_NODE_TIMEOUT_MS: value })).toThrow(ConfigError);
    expect(() => loadConfig(registryConfigSchema, { ...BASE, REGISTRY_NODE_TIMEOUT_MS: value })).toThrow(/REGISTRY_NODE_TIMEOUT_MS/);
  });

  it('given no chain, or half of one, then no chain (stake from registrations only)', () => {
    expect(loadConfig(registryConfigSchema, BASE).chain).toBeUndefined();
    expect(loadConfig(registryConfigSchema, { ...BASE, RPC_URL: 'http://127.0.0.1:8545' }).chain).toBeUndefined();
    expect(chainConfigured({ RPC_URL: 'http://127.0.0.1:8545' })).toBe(false);
    expect(chainConfigured({ RPC_URL: '', MARKET_ADDRESSES: ADDRESSES })).toBe(false);
  });

  it('given RPC_URL and MARKET_ADDRESSES, then the whole chain is checked: its addresses parsed, a missing CHAIN_ID named', () => {
    const env = { ...BASE, RPC_URL: 'http://127.0.0.1:8545', CHAIN_ID: '31337', MARKET_ADDRESSES: ADDRESSES };
    expect(chainConfigured(env)).toBe(true);
    expect(loadConfig(registryConfigSchema, env).chain).toMatchObject({ RPC_URL: 'http://127.0.0.1:8545', CHAIN_ID: 31337, MARKET_ADDRESSES: { staking: `0x${'03'.repeat(20)}` } });
    expect(() => loadConfig(registryConfigSchema, { ...env, CHAIN_ID: undefined })).toThrow(/CHAIN_ID/);
    expect(() => loadConfig(registryConfigSchema, { ...env, MARKET_ADDRESSES: '{not json' })).toThrow(/MARKET_ADDRESSES/);
  });
});
