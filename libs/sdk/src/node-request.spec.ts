import { createHash } from 'node:crypto';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { NodeRequestError, NonceSequence, nodeRequestMessage, signNodeRequest, verifyNodeRequest } from './node-request';

const account = privateKeyToAccount(generatePrivateKey());
const other = privateKeyToAccount(generatePrivateKey());
const body = JSON.stringify({ output: 'abc', resultHash: `0x${'1'.repeat(64)}` });
const path = '/v1/providers/nodes/n-1/jobs/j-1/result';

describe('nodeRequestMessage', () => {
  it('given method, path, nonce and body, builds the documented five-line message', () => {
    const sha = createHash('sha256').update(body).digest('hex');
    expect(nodeRequestMessage('post', path, '17', body)).toBe(`starminer-node-request\nPOST\n${path}\n17\n${sha}`);
  });

  it('given no body, hashes the empty string', () => {
    const emptySha = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    expect(nodeRequestMessage('GET', '/v1/x', 1, undefined).split('\n')[4]).toBe(emptySha);
    expect(nodeRequestMessage('GET', '/v1/x', 1, '')).toBe(nodeRequestMessage('GET', '/v1/x', 1, undefined));
  });

  it.each([['-1'], ['1.5'], ['abc'], ['1'.repeat(21)]])('given nonce %s, throws NONCE_MALFORMED', (nonce) => {
    expect(() => nodeRequestMessage('GET', '/v1/x', nonce, '')).toThrow(expect.objectContaining({ code: 'NONCE_MALFORMED' }));
  });

  it('given a path with a line break (which would forge the message layout), throws PATH_MALFORMED', () => {
    expect(() => nodeRequestMessage('GET', '/v1/x\n2', '1', '')).toThrow(NodeRequestError);
    expect(() => nodeRequestMessage('GET', 'v1/x', '1', '')).toThrow(expect.objectContaining({ code: 'PATH_MALFORMED' }));
  });
});

describe('signNodeRequest / verifyNodeRequest', () => {
  it('given a signed request, verifies with the same parts', async () => {
    const headers = await signNodeRequest(account, { method: 'POST', path, body });
    expect(headers['x-node-address']).toBe(account.address);
    await expect(
      verifyNodeRequest({ method: 'POST', path, body, address: headers['x-node-address'], nonce: headers['x-node-nonce'], signature: headers['x-node-signature'] }),
    ).resolves.toBe(true);
  });

  it.each([
    ['the body', { body: body.replace('abc', 'abd') }],
    ['the path', { path: '/v1/providers/nodes/n-1/jobs/j-2/result' }],
    ['the method', { method: 'PUT' }],
    ['the nonce', { nonce: '1' }],
    ['the address', { address: other.address }],
  ])('given %s changed after signing, refuses', async (_what, change) => {
    const headers = await signNodeRequest(account, { method: 'POST', path, body, nonce: '5' });
    const req = { method: 'POST', path, body, address: headers['x-node-address'] as string, nonce: '5', signature: headers['x-node-signature'] as string };
    await expect(verifyNodeRequest({ ...req, ...change })).resolves.toBe(false);
  });

  it('given a malformed signature or nonce, refuses without throwing', async () => {
    await expect(verifyNodeRequest({ method: 'GET', path: '/v1/x', address: account.address, nonce: '1', signature: '0x12' })).resolves.toBe(false);
    const h = await signNodeRequest(account, { method: 'GET', path: '/v1/x', nonce: '1' });
    await expect(verifyNodeRequest({ method: 'GET', path: '/v1/x', address: account.address, nonce: 'x', signature: h['x-node-signature'] })).resolves.toBe(false);
  });

  it('given successive signatures by one key without explicit nonces, the nonces strictly increase', async () => {
    const nonces: bigint[] = [];
    for (let i = 0; i < 20; i += 1) nonces.push(BigInt((await signNodeRequest(account, { method: 'GET', path: '/v1/x' }))['x-node-nonce']));
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
