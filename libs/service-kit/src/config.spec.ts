import { ConfigError, chainConfigSchema, loadConfig } from './config';

const env = (addresses: string) => ({ RPC_URL: 'http://127.0.0.1:8545', CHAIN_ID: '31337', MARKET_ADDRESSES: addresses });
const A = `0x${'ab'.repeat(20)}`;
const B = `0x${'cd'.repeat(20)}`;

describe('chain configuration', () => {
  it('given the deploy step JSON, then MARKET_ADDRESSES is the typed addresses, optional contracts included', () => {
    const c = loadConfig(chainConfigSchema, env(JSON.stringify({ token: A, escrow: B, anchor: A, deployBlock: 7 })));
    expect(c.MARKET_ADDRESSES).toEqual({ token: A, escrow: B, anchor: A, deployBlock: 7 });
    expect(c.CHAIN_ID).toBe(31337);
  });

  it.each([
    ['not JSON', '{token:', /MARKET_ADDRESSES must be JSON/],
    ['no escrow', JSON.stringify({ token: A }), /escrow/],
    ['a malformed address', JSON.stringify({ token: A, escrow: '0x12' }), /an EVM address/],
  ])('given %s, then the service stops at boot naming the variable', (_what, addresses, why) => {
    expect(() => loadConfig(chainConfigSchema, env(addresses))).toThrow(ConfigError);
    expect(() => loadConfig(chainConfigSchema, env(addresses))).toThrow(why);
  });
});
