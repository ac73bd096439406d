import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { postWebhook } from './post';
import { guardedLookup, isPublicAddress, literalRefusal, TargetRefusedError, targetRefusal, type Resolve } from './target';

const resolvesTo =
  (...addresses: string[]): Resolve =>
  () =>
    Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) })));
const notFound: Resolve = () => Promise.reject(Object.assign(new Error('queryA ENOTFOUND'), { code: 'ENOTFOUND' }));

describe('webhook targets', () => {
  it.each([
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['::1', false],
    ['fd00::1', false],
    ['fe80::1', false],
    ['::ffff:10.0.0.1', false],
    ['::ffff:8.8.8.8', true],
    ['8.8.8.8', true],
    ['2606:4700:4700::1111', true],
    ['not-an-ip', false],
  ])('%s is public: %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });

  it('refuses a literal private address, an IPv6 literal in brackets, and allows a public one', async () => {
    expect(await targetRefusal('http://127.0.0.1:9000/hook', false)).toMatch(/127\.0\.0\.1 is not a public address/);
    expect(await targetRefusal('http://[::1]:9000/hook', false)).toMatch(/::1 is not a public address/);
    expect(await targetRefusal('https://8.8.8.8/hook', false)).toBeNull();
    expect(literalRefusal('http://10.0.0.7/hook', false)).toMatch(/not a public address/);
    expect(literalRefusal('http://hooks.example.com/hook', false)).toBeNull(); // a name: checked when connecting
    expect(literalRefusal('http://10.0.0.7/hook', true)).toBeNull();
  });

  it('refuses a name when any address it resolves to is not public, or when it does not resolve, without naming the addresses', async () => {
    expect(await targetRefusal('https://hooks.example.com/x', false, resolvesTo('93.184.216.34'))).toBeNull();
    const inner = await targetRefusal('https://hooks.example.com/x', false, resolvesTo('93.184.216.34', '169.254.169.254'));
    expect(inner).toBe('hooks.example.com does not resolve to a public address');
    expect(await targetRefusal('https://nowhere.invalid/x', false, notFound)).toMatch(/does not resolve \(ENOTFOUND\)/);
  });

  it('allows anything when private targets are allowed (dev stack, tests)', async () => {
    expect(await targetRefusal('http://127.0.0.1:9000/hook', true, notFound)).toBeNull();
  });

  it('the guarded lookup hands the connection only the addresses it checked', async () => {
    const lookupOf = (resolve: Resolve, options: { all?: boolean; family?: number }) =>
      new Promise<{ err: unknown; address: unknown; family: unknown }>((done) =>
        guardedLookup(resolve)('hooks.example.com', options as never, ((err: unknown, address: unknown, family: unknown) => done({ err, address, family })) as never),
      );
    expect(await lookupOf(resolvesTo('93.184.216.34'), {})).toEqual({ err: null, address: '93.184.216.34', family: 4 });
    expect(await lookupOf(resolvesTo('93.184.216.34', '2606:4700:4700::1111'), { all: true })).toMatchObject({
      err: null,
      address: [
        { address: '93.184.216.34', family: 4 },
        { address: '2606:4700:4700::1111', family: 6 },
      ],
    });
    expect((await lookupOf(resolvesTo('93.184.216.34', '10.0.0.1'), {})).err).toBeInstanceOf(TargetRefusedError);
  });

  describe('a POST through the guarded lookup', () => {
    let server: Server;
    let port: number;
    let hits = 0;
    beforeAll(async () => {
      server = createServer((_req, res) => {
        hits += 1;
        res.end('ok');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('never connects when the name resolves to a private address (DNS rebinding gets nowhere)', async () => {
      const sent = postWebhook(`http://rebind.example.com:${port}/hook`, {}, '{}', { timeoutMs: 2_000, lookup: guardedLookup(resolvesTo('127.0.0.1')) });
      await expect(sent).rejects.toBeInstanceOf(TargetRefusedError);
      expect(hits).toBe(0);
    });

    it('connects without the guard (private targets allowed), and answers the status', async () => {
      expect(await postWebhook(`http://127.0.0.1:${port}/hook`, { 'content-type': 'application/json' }, '{}', { timeoutMs: 2_000 })).toBe(200);
      expect(hits).toBe(1);
    });
  });
});
