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

describe('createProviderClient with node sessions', () => {
  /**
   * A gateway of sessions on a real HTTP server: the login (signed, checked with verifyNodeRequest)
   * answers tok-1, tok-2, ... with a life of `ttlSec`; a call is answered when its token is not in
   * `refused`, else 401 with that code.
   */
  async function sessionGateway(opts: { ttlSec?: number; loginStatus?: number } = {}) {
    const refused = new Map<string, string>();
    let issued = 0;
    let loginsPending: (() => void)[] | undefined;
    const s = await serve((req, res) => {
      if (req.url === '/v1/providers/sessions') {
        if (opts.loginStatus) return answer(res, opts.loginStatus, { error: { code: 'NOT_FOUND', message: 'no such route' } });
        issued += 1;
        const token = `tok-${issued}`;
        const reply = () => answer(res, 201, { token, expiresAt: new Date(Date.now() + (opts.ttlSec ?? 100) * 1000).toISOString(), expiresInSec: opts.ttlSec ?? 100 });
        if (loginsPending) loginsPending.push(reply);
        else reply();
        return;
      }
      const auth = req.headers.authorization ?? '';
      const token = auth.replace(/^NodeSession /, '');
      const code = refused.get(token);
      if (auth.startsWith('NodeSession ') && code) return answer(res, 401, { error: { code, message: 'refused' } });
      answer(res, 200, req.url?.includes('/assignments') ? { assignments: [] } : { ok: true, status: 'running' });
    });
    return {
      ...s,
      refused,
      calls: () => s.seen.filter((r) => r.url !== '/v1/providers/sessions'),
      logins: () => s.seen.filter((r) => r.url === '/v1/providers/sessions'),
      /** Holds login answers until release(): to see calls pile up behind one login. */
      holdLogins: () => (loginsPending = []),
      release: () => {
        const pending = loginsPending ?? [];
        loginsPending = undefined;
        for (const reply of pending) reply();
      },
      close: () => new Promise((r) => s.server.close(r)),
    };
  }

  it('logs in once with a signed call that concurrent calls share, then sends the token instead of a signature, unserialised', async () => {
    const g = await sessionGateway();
    try {
      const account = privateKeyToAccount(generatePrivateKey());
      const p = createProviderClient({ baseUrl: g.url, chainId: 31337, account, sessions: true });
      g.holdLogins();
      const calls = Promise.all([p.heartbeat({ nodeId: 'n1' }), p.getAssignments({ nodeId: 'n1', waitMs: 10 }), p.startJob({ nodeId: 'n1', jobId: 'j1' }), p.getNodeStatus({ nodeId: 'n1' })]);
      await new Promise((r) => setTimeout(r, 100));
      // every call waits on the one login
      expect([g.logins().length, g.calls().length]).toEqual([1, 0]);
      g.release();
      await calls;
      expect(g.logins()).toHaveLength(1);
      expect(p.sessionLogins).toBe(1);
      const [login] = g.logins();
      expect(login.method).toBe('POST');
      await expect(verifies(login, 31337, new URL(g.url).origin)).resolves.toBe(true);
      expect(g.calls().map((c) => [c.headers.authorization, c.headers['x-node-signature']])).toEqual(Array(4).fill(['NodeSession tok-1', undefined]));
      // and the long poll's query went as given
      expect(g.calls().map((c) => c.url)).toContain('/v1/providers/nodes/n1/assignments?waitMs=10');
    } finally {
      await g.close();
    }
  });

  it('renews at 80 % of the life in the background (the old token serves meanwhile), and logs in before calling once it has expired', async () => {
    const g = await sessionGateway({ ttlSec: 100 });
    try {
      let now = 1_000_000;
      const p = createProviderClient({ baseUrl: g.url, chainId: 1, account: privateKeyToAccount(generatePrivateKey()), sessions: true, now: () => now });
      await p.heartbeat({ nodeId: 'n1' });
      now += 79_000;
      await p.heartbeat({ nodeId: 'n1' });
      expect(g.logins()).toHaveLength(1);
      now += 2_000; // 81 s: due for renewal, still valid
      await p.heartbeat({ nodeId: 'n1' });
      await new Promise((r) => setTimeout(r, 100));
      expect(g.logins()).toHaveLength(2);
      await p.heartbeat({ nodeId: 'n1' });
      expect(g.calls().map((c) => c.headers.authorization)).toEqual(['NodeSession tok-1', 'NodeSession tok-1', 'NodeSession tok-1', 'NodeSession tok-2']);
      now += 200_000; // tok-2 expired: the call waits for a new login
      await p.heartbeat({ nodeId: 'n1' });
      expect(g.logins()).toHaveLength(3);
      expect(g.calls().at(-1)!.headers.authorization).toBe('NodeSession tok-3');
    } finally {
      await g.close();
    }
  });

  it.each(['NODE_SESSION_EXPIRED', 'NODE_SESSION_INVALID'])('given %s on a call (a write included), logs in again once and sends it once more', async (code) => {
    const g = await sessionGateway();
    try {
      const p = createProviderClient({ baseUrl: g.url, chainId: 1, account: privateKeyToAccount(generatePrivateKey()), sessions: true });
      await p.heartbeat({ nodeId: 'n1' });
      g.refused.set('tok-1', code);
      // two calls refused at once share the one new login
      await expect(Promise.all([p.startJob({ nodeId: 'n1', jobId: 'j1' }), p.heartbeat({ nodeId: 'n1' })])).resolves.toHaveLength(2);
      expect(g.logins()).toHaveLength(2);
      expect(g.calls().map((c) => `${c.url} ${c.headers.authorization}`).slice(1).sort()).toEqual(
        [
          '/v1/providers/nodes/n1/heartbeat NodeSession tok-1',
          '/v1/providers/nodes/n1/heartbeat NodeSession tok-2',
          '/v1/providers/nodes/n1/jobs/j1/start NodeSession tok-1',
          '/v1/providers/nodes/n1/jobs/j1/start NodeSession tok-2',
        ].sort(),
      );
    } finally {
      await g.close();
    }
  });

  it('a token refused again after a new login is the caller\'s error: one more login, no loop', async () => {
    const g = await sessionGateway();
    try {
      const p = createProviderClient({ baseUrl: g.url, chainId: 1, account: privateKeyToAccount(generatePrivateKey()), sessions: true });
      g.refused.set('tok-1', 'NODE_SESSION_INVALID');
      g.refused.set('tok-2', 'NODE_SESSION_INVALID');
      await expect(p.heartbeat({ nodeId: 'n1' })).rejects.toMatchObject({ status: 401, code: 'NODE_SESSION_INVALID' });
      expect([g.logins().length, g.calls().length]).toEqual([2, 2]);
    } finally {
      await g.close();
    }
  });

  it('other 401s are not a session\'s: no new login', async () => {
    const f = fakeFetch([json(201, { token: 't', expiresAt: new Date(Date.now() + 3_600_000).toISOString(), expiresInSec: 3600 }), apiError(401, 'NONCE_REPLAYED', 'x')]);
    const p = createProviderClient({ baseUrl: 'http://gw.test', chainId: 1, account: privateKeyToAccount(generatePrivateKey()), sessions: true, fetch: f.fetch });
    await expect(p.heartbeat({ nodeId: 'n1' })).rejects.toMatchObject({ code: 'NONCE_REPLAYED' });
    expect(f.calls.map((c) => c.path)).toEqual(['/v1/providers/sessions', '/v1/providers/nodes/n1/heartbeat']);
  });

  it('a gateway without sessions (404 on the login): signs every call from then on', async () => {
    const g = await sessionGateway({ loginStatus: 404 });
    try {
      const p = createProviderClient({ baseUrl: g.url, chainId: 31337, account: privateKeyToAccount(generatePrivateKey()), sessions: true });
      await p.heartbeat({ nodeId: 'n1' });
      await p.heartbeat({ nodeId: 'n1' });
      expect(g.logins()).toHaveLength(1);
      for (const c of g.calls()) await expect(verifies(c, 31337, new URL(g.url).origin)).resolves.toBe(true);
      expect(g.calls()).toHaveLength(2);
    } finally {
      await g.close();
    }
  });
});
