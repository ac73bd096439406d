import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { createProviderClient, signNodeRequest, type RegisterNodeRequest } from '@starminer/sdk/provider';
import { ServiceRuntime } from '@starminer/service-kit';
import { nodeSessionToken } from '../src/auth/node-sessions';
import { nodeRegistration } from './fixtures';
import { startMarket, type Market } from './market-harness';

/**
 * Node sessions (issue 13) over HTTP on real NATS, Postgres and anvil: a signed login answers a
 * token; the token then stands for the node key on its calls (registration, heartbeat, long poll,
 * status) and writes no nonce; a token altered, of another node, another secret or chain, or
 * expired is refused with its code; the login itself takes no session; signed calls work as before.
 */
const SECRET = 'node-session-spec-secret-of-32-bytes-at-least';
let market: Market;
let chainId: number;

/** What this gateway's tokens are bound to: its chain and its escrow. */
const deployment = () => ({ chainId, escrow: market.addresses.escrow });

beforeAll(async () => {
  market = await startMarket({ services: ['registry'], env: { NODE_SESSION_SECRET: SECRET, NODE_SESSION_TTL_SEC: '3600' } });
  chainId = market.anvil.chainId;
}, 180_000);

afterAll(async () => {
  await market?.stop();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers of many shapes, read field by field
type Answer = { status: number; body: any };

/** Through the fetch that checks every answer against the served OpenAPI document (refusals included). */
async function call(method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const res = await market.api.fetch(`${market.gatewayUrl}${path}`, { method, headers: { ...(text ? { 'content-type': 'application/json' } : {}), ...headers }, body: text });
  const raw = await res.text();
  return { status: res.status, body: raw ? JSON.parse(raw) : undefined };
}

let nonce = BigInt(Date.now()) * 1000n;
const nextNonce = (): string => String((nonce += 1n));

async function signedCall(key: PrivateKeyAccount, method: 'GET' | 'POST', path: string, body?: unknown, n = nextNonce()): Promise<Answer> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers = { ...(await signNodeRequest(key, { chainId, origin: market.gatewayUrl, method, path, body: text, nonce: n })) } as Record<string, string>;
  return call(method, path, headers, body);
}

const session = (token: string) => ({ authorization: `NodeSession ${token}` });
const lastNonce = async (address: string): Promise<string | undefined> => {
  const rt = market.gateway.get(ServiceRuntime);
  const rows: { lastNonce: string }[] = await rt.db.query(`SELECT "lastNonce" FROM "${rt.service}"."node_nonces" WHERE "nodeAddress" = $1`, [address.toLowerCase()]);
  return rows[0]?.lastNonce;
};
const code = (a: Answer) => ({ status: a.status, code: a.body?.error?.code });

describe('node sessions', () => {
  const key = privateKeyToAccount(generatePrivateKey());
  const nodeId = `sess-${key.address.slice(2, 10).toLowerCase()}`;
  let token: string;

  it('a signed login answers a token for the key, valid for NODE_SESSION_TTL_SEC, and raises the nonce as any signed call does', async () => {
    const loginNonce = nextNonce();
    const before = Date.now();
    const login = await signedCall(key, 'POST', '/v1/providers/sessions', undefined, loginNonce);
    expect(login.status).toBe(201);
    token = login.body.token;
    expect(token).toMatch(new RegExp(`^v1\\.${key.address.toLowerCase()}\\.[0-9]+\\.[A-Za-z0-9_-]{43}$`));
    expect(login.body.expiresInSec).toBe(3600);
    const expiresAtMs = Date.parse(login.body.expiresAt);
    expect(expiresAtMs).toBeGreaterThanOrEqual(before + 3600_000);
    expect(expiresAtMs).toBeLessThanOrEqual(Date.now() + 3601_000);
    expect(Number(token.split('.')[2]) * 1000).toBe(expiresAtMs);
    expect(await lastNonce(key.address)).toBe(loginNonce);
  });

  it('the token registers the node, heartbeats, long-polls and reads its status, and writes no nonce', async () => {
    const nonceBefore = await lastNonce(key.address);
    expect(code(await call('POST', '/v1/providers/nodes', session(token), nodeRegistration(nodeId)))).toEqual({ status: 201, code: undefined });
    expect(await call('POST', `/v1/providers/nodes/${nodeId}/heartbeat`, session(token))).toEqual({ status: 200, body: { ok: true } });
    // the gateway's view of the node follows the log: the long poll answers once the node is known to it
    let poll: Answer | undefined;
    for (let i = 0; i < 50; i += 1) {
      poll = await call('GET', `/v1/providers/nodes/${nodeId}/assignments?waitMs=200`, session(token));
      if (poll.status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(poll).toMatchObject({ status: 200, body: { assignments: [] } });
    const status = await call('GET', `/v1/providers/nodes/${nodeId}`, session(token));
    expect(status).toMatchObject({ status: 200, body: { node: { nodeId } } });
    expect(await lastNonce(key.address)).toBe(nonceBefore);
    expect(market.api.take()).toEqual([]);
  });

  it('a token is the key\'s: another key\'s token for this node is NOT_NODE_KEY, as its signature would be', async () => {
    const other = privateKeyToAccount(generatePrivateKey());
    const otherLogin = await signedCall(other, 'POST', '/v1/providers/sessions');
    expect(otherLogin.status).toBe(201);
    expect(code(await call('GET', `/v1/providers/nodes/${nodeId}`, session(otherLogin.body.token)))).toEqual({ status: 403, code: 'NOT_NODE_KEY' });
  });

  describe('refused tokens, each with its code, and nothing done', () => {
    const statusPath = () => `/v1/providers/nodes/${nodeId}`;
    const flip = (s: string): string => s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + s.at(-1);
    const nowSec = () => Math.floor(Date.now() / 1000);
    it.each<[string, string, () => string]>([
      ['its MAC altered', 'NODE_SESSION_INVALID', () => flip(token)],
      ['another node\'s address with this MAC', 'NODE_SESSION_INVALID', () => token.replace(key.address.toLowerCase(), privateKeyToAccount(generatePrivateKey()).address.toLowerCase())],
      ['its expiry moved later', 'NODE_SESSION_INVALID', () => token.replace(/\.([0-9]+)\./, (_m, e: string) => `.${Number(e) + 3600}.`)],
      ['made with another secret (another replica without the shared one)', 'NODE_SESSION_INVALID', () => nodeSessionToken(Buffer.from('another-secret-of-at-least-32-bytes!!'), deployment(), key.address, nowSec() + 600)],
      ['made for another chain', 'NODE_SESSION_INVALID', () => nodeSessionToken(Buffer.from(SECRET), { ...deployment(), chainId: chainId + 1 }, key.address, nowSec() + 600)],
      ['made for another escrow on the same chain (another deployment)', 'NODE_SESSION_INVALID', () => nodeSessionToken(Buffer.from(SECRET), { ...deployment(), escrow: '0x0000000000000000000000000000000000000001' }, key.address, nowSec() + 600)],
      ['not a token at all', 'NODE_SESSION_INVALID', () => 'garbage'],
      ['expired a second ago (issued by this deployment)', 'NODE_SESSION_EXPIRED', () => nodeSessionToken(Buffer.from(SECRET), deployment(), key.address, nowSec() - 1)],
    ])('%s: 401 %s', async (_what, expected, tokenOf) => {
      expect(code(await call('GET', statusPath(), session(tokenOf())))).toEqual({ status: 401, code: expected });
      const nonceBefore = await lastNonce(key.address);
      expect(code(await call('POST', `/v1/providers/nodes/${nodeId}/heartbeat`, session(tokenOf())))).toEqual({ status: 401, code: expected });
      expect(await lastNonce(key.address)).toBe(nonceBefore);
      expect(market.api.take()).toEqual([]);
    });

    it('the scheme without a token: 401 NODE_SESSION_INVALID', async () => {
      expect(code(await call('GET', statusPath(), { authorization: 'NodeSession' }))).toEqual({ status: 401, code: 'NODE_SESSION_INVALID' });
    });

    it('a token made with the deployment\'s secret for a future expiry is accepted: the MAC is the proof, no state is looked up', async () => {
      expect((await call('GET', statusPath(), session(nodeSessionToken(Buffer.from(SECRET), deployment(), key.address, nowSec() + 5)))).status).toBe(200);
    });
  });

  it('the login takes no session: a session cannot renew itself (401 NODE_SIGNATURE_REQUIRED)', async () => {
    expect(code(await call('POST', '/v1/providers/sessions', session(token)))).toEqual({ status: 401, code: 'NODE_SIGNATURE_REQUIRED' });
    expect(market.api.take()).toEqual([]);
  });

  it('signed calls work as before: a heartbeat signed by the key, its nonce raised, and the same nonce again replayed', async () => {
    const n = nextNonce();
    expect(await signedCall(key, 'POST', `/v1/providers/nodes/${nodeId}/heartbeat`, undefined, n)).toEqual({ status: 200, body: { ok: true } });
    expect(await lastNonce(key.address)).toBe(n);
    expect(code(await signedCall(key, 'POST', `/v1/providers/nodes/${nodeId}/heartbeat`, undefined, n))).toEqual({ status: 401, code: 'NONCE_REPLAYED' });
  });

  it('the SDK with sessions: one signed login, then every call on the token (no more nonces)', async () => {
    const agentKey = privateKeyToAccount(generatePrivateKey());
    const agentNode = `sess-sdk-${agentKey.address.slice(2, 10).toLowerCase()}`;
    const p = createProviderClient({ baseUrl: market.gatewayUrl, chainId, account: agentKey, fetch: market.api.fetch, sessions: true });
    await p.registerNode({ registration: nodeRegistration(agentNode) as unknown as RegisterNodeRequest });
    const loginNonce = await lastNonce(agentKey.address);
    expect(loginNonce).toBeDefined();
    await Promise.all([p.heartbeat({ nodeId: agentNode }), p.heartbeat({ nodeId: agentNode })]);
    for (let i = 0; i < 50; i += 1) {
      const ok = await p.getAssignments({ nodeId: agentNode, waitMs: 100 }).then(
        () => true,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await expect(p.getAssignments({ nodeId: agentNode, waitMs: 100 })).resolves.toMatchObject({ assignments: [] });
    expect(p.sessionLogins).toBe(1);
    expect(await lastNonce(agentKey.address)).toBe(loginNonce);
    expect(market.api.take()).toEqual([]);
  });
});
