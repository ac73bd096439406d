import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { apiError, fakeFetch, fakeSleep, json } from '../test/fake-fetch';
import { verifyNodeRequest } from './node-request';
import { createProviderClient } from './provider-client';

type Seen = { method: string; url: string; headers: IncomingMessage['headers']; body: string };

/** A real HTTP server on a free port, answering with `handler`; records what it was sent. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

const answer = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

const verifies = (s: Seen, chainId: number, origin: string) =>
  verifyNodeRequest({
    chainId,
    origin,
    method: s.method,
    path: s.url,
    body: s.body,
    address: s.headers['x-node-address'] as string,
    nonce: s.headers['x-node-nonce'] as string,
    signature: s.headers['x-node-signature'] as string,
  });

describe('createProviderClient', () => {
  it('signs every call for its deployment (chain id, the origin of baseUrl) so that verifyNodeRequest accepts it, with strictly increasing nonces in send order', async () => {
    const s = await serve((req, res) => answer(res, 200, req.url?.endsWith('/assignments') ? { assignments: [] } : { ok: true, status: 'running' }));
    try {
      const account = privateKeyToAccount(generatePrivateKey());
      const p = createProviderClient({ baseUrl: s.url, chainId: 31337, account });
      expect(p.address).toBe(account.address);
      await Promise.all([
        p.heartbeat({ nodeId: 'n1' }),
        p.getAssignments({ nodeId: 'n1' }),
        p.startJob({ nodeId: 'n1', jobId: 'j1' }),
        p.submitResult({ nodeId: 'n1', jobId: 'j1', result: { output: 'o', resultHash: `0x${'1'.repeat(64)}`, proofHash: `0x${'2'.repeat(64)}`, signature: `0x${'3'.repeat(130)}` } }),
        p.getEarnings({ nodeId: 'n1', limit: 5, cursor: 'c' }),
      ]);
      expect(s.seen.map((r) => `${r.method} ${r.url}`)).toEqual([
        'POST /v1/providers/nodes/n1/heartbeat',
        'GET /v1/providers/nodes/n1/assignments',
        'POST /v1/providers/nodes/n1/jobs/j1/start',
        'POST /v1/providers/nodes/n1/jobs/j1/result',
        'GET /v1/providers/nodes/n1/earnings?limit=5&cursor=c', // the query is signed too
      ]);
      const nonces = s.seen.map((r) => BigInt(r.headers['x-node-nonce'] as string));
      for (let i = 1; i < nonces.length; i += 1) expect(nonces[i]).toBeGreaterThan(nonces[i - 1]);
      for (const r of s.seen) {
        expect([r.headers['x-node-chain-id'], r.headers['x-node-origin']]).toEqual(['31337', new URL(s.url).origin]);
        await expect(verifies(r, 31337, new URL(s.url).origin)).resolves.toBe(true);
      }
    } finally {
      await new Promise((r) => s.server.close(r));
    }
  });

  it('given a 503 on a heartbeat, retries it signed again with a fresh nonce (a replayed nonce would be refused)', async () => {
    const f = fakeFetch([apiError(503, 'DEPENDENCY_UNAVAILABLE', 'away', { headers: { 'retry-after': '0' } }), json(200, { ok: true })]);
    const account = privateKeyToAccount(generatePrivateKey());
    const p = createProviderClient({ baseUrl: 'http://gw.test:8080', chainId: 1, account, fetch: f.fetch, sleep: fakeSleep().sleep });
    await expect(p.heartbeat({ nodeId: 'n1' })).resolves.toEqual({ ok: true });
    const [a, b] = f.calls.map((c) => c.headers);
    expect(BigInt(b['x-node-nonce'])).toBeGreaterThan(BigInt(a['x-node-nonce']));
    expect(b['x-node-signature']).not.toBe(a['x-node-signature']);
  });

  it('sends writes (register, start, result) once: the agent decides what to do again', async () => {
    const f = fakeFetch([apiError(503, 'DEPENDENCY_UNAVAILABLE', 'away', { headers: { 'retry-after': '0' } })]);
    const p = createProviderClient({ baseUrl: 'http://gw.test', chainId: 1, account: privateKeyToAccount(generatePrivateKey()), fetch: f.fetch, sleep: fakeSleep().sleep });
    await expect(p.startJob({ nodeId: 'n1', jobId: 'j1' })).rejects.toMatchObject({ status: 503 });
    expect(f.calls).toHaveLength(1);
  });

  it('given an explicit origin (a gateway behind a proxy), signs for it', async () => {
    const f = fakeFetch([json(200, { node: {}, jobs: {} })]);
    const p = createProviderClient({ baseUrl: 'http://10.0.0.5:8080', origin: 'HTTPS://Gateway.Example.com/', chainId: 5, account: privateKeyToAccount(generatePrivateKey()), fetch: f.fetch });
    await p.getNodeStatus({ nodeId: 'n1' });
    expect(f.calls[0].headers['x-node-origin']).toBe('https://gateway.example.com');
    expect(f.calls[0].path).toBe('/v1/providers/nodes/n1');
  });
});
