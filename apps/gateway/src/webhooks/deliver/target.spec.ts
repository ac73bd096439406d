import { isPublicAddress, targetRefusal, type Lookup } from './target';

const resolvesTo =
  (...addresses: string[]): Lookup =>
  () =>
    Promise.resolve(addresses.map((address) => ({ address })));
const notFound: Lookup = () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));

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
  });

  it('refuses a name when any address it resolves to is not public, or when it does not resolve', async () => {
    expect(await targetRefusal('https://hooks.example.com/x', false, resolvesTo('93.184.216.34'))).toBeNull();
    expect(await targetRefusal('https://hooks.example.com/x', false, resolvesTo('93.184.216.34', '169.254.169.254'))).toMatch(/169\.254\.169\.254/);
    expect(await targetRefusal('https://nowhere.invalid/x', false, notFound)).toMatch(/does not resolve \(ENOTFOUND\)/);
    expect(await targetRefusal('https://hooks.example.com/x', false, resolvesTo())).toMatch(/does not resolve/);
  });

  it('allows anything when private targets are allowed (dev stack, tests)', async () => {
    expect(await targetRefusal('http://127.0.0.1:9000/hook', true, notFound)).toBeNull();
  });
});
