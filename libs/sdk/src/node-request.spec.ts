import { createHash } from 'node:crypto';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { NodeRequestError, NonceSequence, nodeRequestMessage, normalizeOrigin, signNodeRequest, verifyNodeRequest } from './node-request';

const account = privateKeyToAccount(generatePrivateKey());
const other = privateKeyToAccount(generatePrivateKey());
const body = JSON.stringify({ output: 'abc', resultHash: `0x${'1'.repeat(64)}` });
const path = '/v1/providers/nodes/n-1/jobs/j-1/result';
const deployment = { chainId: 31337, origin: 'http://127.0.0.1:8080' };

describe('nodeRequestMessage', () => {
  it('given the deployment, method, path, nonce and body, builds the documented seven-line message', () => {
    const sha = createHash('sha256').update(body).digest('hex');
    expect(nodeRequestMessage({ ...deployment, method: 'post', path, nonce: '17', body })).toBe(`starminer-node-request\n31337\nhttp://127.0.0.1:8080\nPOST\n${path}\n17\n${sha}`);
  });

  it('given no body, hashes the empty string', () => {
    const emptySha = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    expect(nodeRequestMessage({ ...deployment, method: 'GET', path: '/v1/x', nonce: 1 }).split('\n')[6]).toBe(emptySha);
    expect(nodeRequestMessage({ ...deployment, method: 'GET', path: '/v1/x', nonce: 1, body: '' })).toBe(nodeRequestMessage({ ...deployment, method: 'GET', path: '/v1/x', nonce: 1 }));
  });

  it.each([['-1'], ['1.5'], ['abc'], ['1'.repeat(21)]])('given nonce %s, throws NONCE_MALFORMED', (nonce) => {
    expect(() => nodeRequestMessage({ ...deployment, method: 'GET', path: '/v1/x', nonce })).toThrow(expect.objectContaining({ code: 'NONCE_MALFORMED' }));
  });

  it('given a path with a line break (which would forge the message layout), throws PATH_MALFORMED', () => {
    expect(() => nodeRequestMessage({ ...deployment, method: 'GET', path: '/v1/x\n2', nonce: '1' })).toThrow(NodeRequestError);
    expect(() => nodeRequestMessage({ ...deployment, method: 'GET', path: 'v1/x', nonce: '1' })).toThrow(expect.objectContaining({ code: 'PATH_MALFORMED' }));
  });

  it.each([[0], [-1], [1.5], [Number.NaN], [2 ** 60]])('given chain id %s, throws CHAIN_ID_MALFORMED', (chainId) => {
    expect(() => nodeRequestMessage({ chainId, origin: deployment.origin, method: 'GET', path: '/v1/x', nonce: '1' })).toThrow(expect.objectContaining({ code: 'CHAIN_ID_MALFORMED' }));
  });

  it.each([['HTTP://Example.COM'], ['http://example.com/'], ['http://example.com/v1'], ['http://a\nb'], ['ftp://example.com'], ['example.com']])(
    'given origin %j (not a normalized http(s) origin), throws ORIGIN_MALFORMED',
    (origin) => {
      expect(() => nodeRequestMessage({ chainId: 1, origin, method: 'GET', path: '/v1/x', nonce: '1' })).toThrow(expect.objectContaining({ code: 'ORIGIN_MALFORMED' }));
    },
  );
});

describe('normalizeOrigin', () => {
  it.each([
    ['HTTP://Gateway.Example.COM:80/v1/x?y', 'http://gateway.example.com'],
    ['https://gateway.example.com:443', 'https://gateway.example.com'],
    ['http://127.0.0.1:8080/', 'http://127.0.0.1:8080'],
  ])('given %s, gives %s', (url, origin) => {
    expect(normalizeOrigin(url)).toBe(origin);
  });
});

describe('signNodeRequest / verifyNodeRequest', () => {
  it('given a signed request, verifies with the same parts, and its headers name the deployment', async () => {
    const headers = await signNodeRequest(account, { ...deployment, method: 'POST', path, body });
    expect(headers).toMatchObject({ 'x-node-address': account.address, 'x-node-chain-id': '31337', 'x-node-origin': 'http://127.0.0.1:8080' });
    await expect(
      verifyNodeRequest({ ...deployment, method: 'POST', path, body, address: headers['x-node-address'], nonce: headers['x-node-nonce'], signature: headers['x-node-signature'] }),
    ).resolves.toBe(true);
  });

  it('given an origin written another way (a trailing slash, upper case), signs the normalized origin', async () => {
    const headers = await signNodeRequest(account, { chainId: 1, origin: 'HTTP://LocalHost:8080/', method: 'GET', path: '/v1/x', nonce: '3' });
    expect(headers['x-node-origin']).toBe('http://localhost:8080');
    await expect(verifyNodeRequest({ chainId: 1, origin: 'http://localhost:8080', method: 'GET', path: '/v1/x', address: account.address, nonce: '3', signature: headers['x-node-signature'] })).resolves.toBe(true);
  });

  it.each([
    ['the body', { body: body.replace('abc', 'abd') }],
    ['the path', { path: '/v1/providers/nodes/n-1/jobs/j-2/result' }],
    ['the method', { method: 'PUT' }],
    ['the nonce', { nonce: '1' }],
    ['the address', { address: other.address }],
    ['the chain id (another chain)', { chainId: 1 }],
    ['the origin (another gateway)', { origin: 'https://gateway.other.example' }],
    ['the origin (another port)', { origin: 'http://127.0.0.1:8081' }],
  ])('given %s changed after signing, refuses', async (_what, change) => {
    const headers = await signNodeRequest(account, { ...deployment, method: 'POST', path, body, nonce: '5' });
    const req = { ...deployment, method: 'POST', path, body, address: headers['x-node-address'] as string, nonce: '5', signature: headers['x-node-signature'] as string };
    await expect(verifyNodeRequest({ ...req, ...change })).resolves.toBe(false);
  });

  it('given a malformed signature, nonce or deployment, refuses without throwing', async () => {
    await expect(verifyNodeRequest({ ...deployment, method: 'GET', path: '/v1/x', address: account.address, nonce: '1', signature: '0x12' })).resolves.toBe(false);
    const h = await signNodeRequest(account, { ...deployment, method: 'GET', path: '/v1/x', nonce: '1' });
    await expect(verifyNodeRequest({ ...deployment, method: 'GET', path: '/v1/x', address: account.address, nonce: 'x', signature: h['x-node-signature'] })).resolves.toBe(false);
    await expect(verifyNodeRequest({ chainId: 0, origin: deployment.origin, method: 'GET', path: '/v1/x', address: account.address, nonce: '1', signature: h['x-node-signature'] })).resolves.toBe(false);
    await expect(verifyNodeRequest({ chainId: 31337, origin: 'not an origin', method: 'GET', path: '/v1/x', address: account.address, nonce: '1', signature: h['x-node-signature'] })).resolves.toBe(false);
  });

  it('given successive signatures by one key without explicit nonces, the nonces strictly increase', async () => {
    const nonces: bigint[] = [];
    for (let i = 0; i < 20; i += 1) nonces.push(BigInt((await signNodeRequest(account, { ...deployment, method: 'GET', path: '/v1/x' }))['x-node-nonce']));
    for (let i = 1; i < nonces.length; i += 1) expect(nonces[i]).toBeGreaterThan(nonces[i - 1]);
  });
});

describe('NonceSequence', () => {
  it('given a clock that stands still, still increases by one', () => {
    const seq = new NonceSequence(() => 1000);
    expect([seq.next(), seq.next(), seq.next()]).toEqual(['1000', '1001', '1002']);
  });

  it('given a clock that goes backwards, never goes back', () => {
    let t = 5000;
    const seq = new NonceSequence(() => t);
    expect(seq.next()).toBe('5000');
    t = 10;
    expect(seq.next()).toBe('5001');
    t = 9000;
    expect(seq.next()).toBe('9000');
  });
});
