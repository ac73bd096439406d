import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { JobWaitError, StarMinerClient } from './client';
import { StarMinerApiError, StarMinerNetworkError } from './http';
import { verifyNodeRequest } from './node-request';
import { ProviderClient } from './provider-client';
import type { Job, JobStatus } from './types';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

/** A real HTTP server on a free port, answering with `handler`; records what it was sent. */
async function serve(handler: Handler): Promise<{ url: string; seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[]; server: Server }> {
  const seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

const job = (status: JobStatus): Job => ({
  jobId: 'j1',
  status,
  category: 'inference',
  budgetWei: '10',
  nodeId: null,
  priceWeiPerHour: null,
  costWei: null,
  contractAddress: null,
  txHashes: { open: null, settle: null },
  result: null,
  waitingReason: null,
  failure: null,
});

describe('StarMinerClient', () => {
  let servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    servers = [];
  });

  it('given a 4xx with an error envelope, throws StarMinerApiError with status, code, message and details', async () => {
    const s = await serve((_req, _body, res) => json(res, 422, { error: { code: 'BUDGET_EXCEEDS_FUNDS', message: 'not enough AGPU', details: { balanceWei: '0' } } }));
    servers.push(s.server);
    const client = new StarMinerClient({ baseUrl: s.url, apiKey: 'sm_x' });
    const err = await client.getJob('j1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StarMinerApiError);
    expect(err).toMatchObject({ status: 422, code: 'BUDGET_EXCEEDS_FUNDS', message: '422 BUDGET_EXCEEDS_FUNDS: not enough AGPU', details: { balanceWei: '0' } });
  });

  it('given a non-JSON error, keeps the status and a HTTP_<status> code', async () => {
    const s = await serve((_req, _body, res) => {
      res.writeHead(502);
      res.end('bad gateway');
    });
    servers.push(s.server);
    await expect(new StarMinerClient({ baseUrl: s.url, apiKey: 'k' }).queues()).rejects.toMatchObject({ status: 502, code: 'HTTP_502' });
  });

  it('given nobody listening, throws StarMinerNetworkError', async () => {
    const s = await serve(() => undefined);
    const url = s.url;
    await new Promise((r) => s.server.close(r));
    await expect(new StarMinerClient({ baseUrl: url, apiKey: 'k' }).queues()).rejects.toBeInstanceOf(StarMinerNetworkError);
  });

  it('submitJob sends the API key, the idempotency key and the JSON body', async () => {
    const s = await serve((_req, _body, res) => json(res, 202, { jobId: 'j1', status: 'queued' }));
    servers.push(s.server);
    const client = new StarMinerClient({ baseUrl: s.url, apiKey: 'sm_key' });
    const spec = {
      category: 'inference' as const,
      budgetWei: '1000',
      urgency: 'normal' as const,
      latencyPreference: 'normal' as const,
      requirements: { gpuModels: [], gpuCount: 1, minVramGiB: 0, tee: false, regions: [] },
      expectedRuntimeSec: 10,
      workload: { kind: 'hash-chain' as const, seed: 's', iterations: 10 },
    };
    await expect(client.submitJob(spec, 'idem-1')).resolves.toEqual({ jobId: 'j1', status: 'queued' });
    expect(s.seen[0]).toMatchObject({ method: 'POST', url: '/v1/jobs', body: JSON.stringify(spec) });
    expect(s.seen[0].headers).toMatchObject({ authorization: 'Bearer sm_key', 'idempotency-key': 'idem-1', 'content-type': 'application/json' });
  });

  it('createOrg authenticates with the operator token, not the API key', async () => {
    const s = await serve((_req, _body, res) => json(res, 201, { orgId: 'o', name: 'n', apiKey: 'sm_new', accountAddress: '0x0' }));
    servers.push(s.server);
    await new StarMinerClient({ baseUrl: s.url }).createOrg('op-token', 'Acme');
    expect(s.seen[0].headers.authorization).toBe('Bearer op-token');
    expect(JSON.parse(s.seen[0].body)).toEqual({ name: 'Acme' });
  });

  it('listJobs passes limit and cursor as a query', async () => {
    const s = await serve((_req, _body, res) => json(res, 200, { jobs: [], nextCursor: null }));
    servers.push(s.server);
    await new StarMinerClient({ baseUrl: s.url, apiKey: 'k' }).listJobs({ limit: 5, cursor: 'abc' });
    expect(s.seen[0].url).toBe('/v1/jobs?limit=5&cursor=abc');
  });

  describe('waitForJob', () => {
    it('given the job passes through statuses, returns at the first wanted one', async () => {
      const statuses: JobStatus[] = ['queued', 'matched', 'running', 'settled'];
      let i = 0;
      const s = await serve((_req, _body, res) => json(res, 200, job(statuses[Math.min(i++, statuses.length - 1)])));
      servers.push(s.server);
      const client = new StarMinerClient({ baseUrl: s.url, apiKey: 'k', sleep: async () => undefined });
      await expect(client.waitForJob('j1', ['settled', 'refunded'], 10_000)).resolves.toMatchObject({ status: 'settled' });
      expect(s.seen).toHaveLength(4);
    });

    it('given the job ends in an unwanted final status, throws JOB_ENDED at once', async () => {
      const s = await serve((_req, _body, res) => json(res, 200, job('refunded')));
      servers.push(s.server);
      const client = new StarMinerClient({ baseUrl: s.url, apiKey: 'k', sleep: async () => undefined });
      await expect(client.waitForJob('j1', ['settled'], 10_000)).rejects.toMatchObject({ code: 'JOB_ENDED', lastJob: { status: 'refunded' } });
    });

    it('given the job never gets there, throws WAIT_TIMEOUT once the clock passes the deadline', async () => {
      const s = await serve((_req, _body, res) => json(res, 200, job('queued')));
      servers.push(s.server);
      let t = 0;
      const client = new StarMinerClient({ baseUrl: s.url, apiKey: 'k', sleep: async (ms) => void (t += ms) });
      const err = await client.waitForJob('j1', ['settled'], 1_000, () => t).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JobWaitError);
      expect(err).toMatchObject({ code: 'WAIT_TIMEOUT' });
      expect(s.seen.length).toBe(5); // t = 0, 250, 500, 750, 1000
    });
  });
});

describe('ProviderClient', () => {
  it('signs every call for its deployment (chain id, the origin of baseUrl) so that verifyNodeRequest accepts it, with strictly increasing nonces in send order', async () => {
    const s = await serve((req, _body, res) => json(res, 200, req.url?.endsWith('/assignments') ? { assignments: [] } : { ok: true, status: 'running' }));
    try {
      const account = privateKeyToAccount(generatePrivateKey());
      const client = new ProviderClient({ baseUrl: s.url, chainId: 31337, account });
      await Promise.all([client.heartbeat('n1'), client.assignments('n1'), client.start('n1', 'j1'), client.submitResult('n1', 'j1', { output: 'o', resultHash: '0x1', proofHash: '0x2', signature: '0x3' })]);
      expect(s.seen).toHaveLength(4);
      const nonces = s.seen.map((r) => BigInt(r.headers['x-node-nonce'] as string));
      for (let i = 1; i < nonces.length; i += 1) expect(nonces[i]).toBeGreaterThan(nonces[i - 1]);
      for (const r of s.seen) {
        expect([r.headers['x-node-chain-id'], r.headers['x-node-origin']]).toEqual(['31337', new URL(s.url).origin]);
        const ok = await verifyNodeRequest({
          chainId: 31337,
          origin: new URL(s.url).origin,
          method: r.method,
          path: r.url,
          body: r.body,
          address: r.headers['x-node-address'] as string,
          nonce: r.headers['x-node-nonce'] as string,
          signature: r.headers['x-node-signature'] as string,
        });
        expect(ok).toBe(true);
      }
      expect(s.seen[0].headers['x-node-address']).toBe(account.address);
    } finally {
      await new Promise((r) => s.server.close(r));
    }
  });
});
