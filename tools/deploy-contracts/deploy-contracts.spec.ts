import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPublicClient, createWalletClient, http, type Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { localChain, startAnvil, type AnvilHandle } from '@starminer/chain';
import { devKey, ROLE_INDEX } from '@starminer/service-testing';
import { deployContractsOnce, DeployContractsError, DEPLOYING_KEY, expectedAddresses, loadDeployContractsConfig, MARKET_ADDRESSES_KEY, type DeployContractsConfig } from './deploy-contracts';
import { KubeApiError, kubeConfigMapStore } from './kube-configmap';

/**
 * The contracts Job against a real anvil, publishing through a real HTTP client to an in-process
 * server that speaks the Kubernetes API subset it uses (GET, POST, merge PATCH of ConfigMaps,
 * bearer token checked), as the RBAC Role allows it.
 */

const NAMESPACE = 'starminer';
const TOKEN = 'service-account-token';

interface FakeApi {
  server: Server;
  url: string;
  configMaps: Map<string, { data: Record<string, string>; rv: number }>;
  calls: string[];
  /** Answers this status to every call while set (RBAC refusing, say). */
  refuse?: number;
  /** Answers this status to calls of one method only (a Role without `create`, an API server failing the publication). */
  refuseMethod?: { method: string; status: number };
  /** Runs before a PATCH is applied: another writer changing the ConfigMap in between. */
  beforePatch?: () => void;
}

let versions = 0;

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
}

async function startFakeApi(): Promise<FakeApi> {
  const api = { configMaps: new Map(), calls: [] as string[] } as FakeApi;
  api.server = createServer((req, res) => {
    void (async () => {
      const answer = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      api.calls.push(`${req.method} ${req.url}`);
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return answer(401, { kind: 'Status', reason: 'Unauthorized' });
      if (api.refuse) return answer(api.refuse, { kind: 'Status', reason: 'Forbidden' });
      const refused = api.refuseMethod;
      if (refused && refused.method === req.method) return answer(refused.status, { kind: 'Status', reason: 'Refused' });
      const m = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps(?:\/([^/]+))?$/.exec(req.url ?? '');
      if (!m || m[1] !== NAMESPACE) return answer(404, { kind: 'Status', reason: 'NotFound' });
      const name = m[2];
      const body = (await readBody(req)) as { metadata?: { name?: string; resourceVersion?: string }; data?: Record<string, string> } | undefined;
      const asObject = (n: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: n, resourceVersion: String(api.configMaps.get(n)!.rv) }, data: api.configMaps.get(n)!.data });
      if (req.method === 'GET' && name) {
        return api.configMaps.has(name) ? answer(200, asObject(name)) : answer(404, { kind: 'Status', reason: 'NotFound' });
      }
      if (req.method === 'POST' && !name && body?.metadata?.name) {
        if (api.configMaps.has(body.metadata.name)) return answer(409, { kind: 'Status', reason: 'AlreadyExists' });
        api.configMaps.set(body.metadata.name, { data: { ...body.data }, rv: ++versions });
        return answer(201, asObject(body.metadata.name));
      }
      if (req.method === 'PATCH' && name && req.headers['content-type'] === 'application/merge-patch+json') {
        api.beforePatch?.();
        const cm = api.configMaps.get(name);
        if (!cm) return answer(404, { kind: 'Status', reason: 'NotFound' });
        // as the API server: a resourceVersion in the patch is a precondition
        if (body?.metadata?.resourceVersion !== undefined && body.metadata.resourceVersion !== String(cm.rv)) return answer(409, { kind: 'Status', reason: 'Conflict' });
        api.configMaps.set(name, { data: { ...cm.data, ...body?.data }, rv: ++versions });
        return answer(200, asObject(name));
      }
      return answer(405, { kind: 'Status', reason: 'MethodNotAllowed' });
    })();
  });
  await new Promise<void>((r) => api.server.listen(0, '127.0.0.1', r));
  api.url = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  return api;
}

let anvil: AnvilHandle;
let api: FakeApi;
let config: DeployContractsConfig;
const roleAddress = (role: keyof typeof ROLE_INDEX): Address => privateKeyToAccount(devKey(ROLE_INDEX[role])).address;

beforeAll(async () => {
  [anvil, api] = await Promise.all([startAnvil(), startFakeApi()]);
  config = loadDeployContractsConfig({
    RPC_URL: anvil.rpcUrl,
    CHAIN_ID: String(anvil.chainId),
    ADMIN_PRIVATE_KEY: devKey(ROLE_INDEX.admin),
    DEPLOYER_ADDRESS: roleAddress('deployer'),
    SETTLEMENT_ADDRESS: roleAddress('settlement'),
    MINTER_ADDRESS: roleAddress('minter'),
  });
}, 60_000);

afterAll(async () => {
  await anvil?.stop();
  await new Promise((r) => api?.server.close(r));
});

const storeFor = (name: string) => kubeConfigMapStore({ server: api.url, token: TOKEN }, NAMESPACE, name);
const codeAt = (address: Address) => createPublicClient({ transport: http(anvil.rpcUrl) }).getCode({ address });

const chain = () => createPublicClient({ transport: http(anvil.rpcUrl) });
const adminNonce = () => chain().getTransactionCount({ address: roleAddress('admin'), blockTag: 'pending' });
const dataOf = (name: string) => api.configMaps.get(name)?.data;
const setData = (name: string, data: Record<string, string>) => api.configMaps.set(name, { data, rv: ++versions });
const run = (name: string) => deployContractsOnce({ ...config, MARKET_CONFIGMAP: name }, storeFor(name));

describe('deploy-contracts Job', () => {
  it('claims, deploys the market on a fresh chain and publishes MARKET_ADDRESSES; a second run keeps it and sends no transaction', async () => {
    const nonce = await adminNonce();
    const first = await run('market-a');
    expect(first.action).toBe('deployed');
    const published = JSON.parse(dataOf('market-a')![MARKET_ADDRESSES_KEY]) as Record<string, unknown>;
    expect(published).toEqual({ ...first.addresses });
    // the claim names the nonce the contracts were created at: a retry finds them from it
    expect(JSON.parse(dataOf('market-a')![DEPLOYING_KEY])).toMatchObject({ admin: roleAddress('admin'), nonce });
    expect(first.addresses).toMatchObject(expectedAddresses(roleAddress('admin'), nonce));
    for (const key of ['token', 'escrow', 'staking', 'vaults', 'anchor'] as const) expect((await codeAt(first.addresses[key]!))?.length).toBeGreaterThan(2);

    const nonceBefore = await adminNonce();
    api.calls.length = 0;
    const second = await run('market-a');
    expect(second).toEqual({ action: 'kept', addresses: first.addresses });
    expect(api.calls).toEqual([`GET /api/v1/namespaces/${NAMESPACE}/configmaps/market-a`]);
    expect(await adminNonce()).toBe(nonceBefore);
  }, 60_000);

  it('claims a ConfigMap that exists without addresses (on its resourceVersion), keeping what it holds', async () => {
    setData('market-b', { NOTE: 'made by hand' });
    const r = await run('market-b');
    expect(r.action).toBe('deployed');
    expect(dataOf('market-b')).toEqual({ NOTE: 'made by hand', [DEPLOYING_KEY]: expect.any(String), [MARKET_ADDRESSES_KEY]: JSON.stringify(r.addresses) });
  }, 60_000);

  it('refuses to deploy a second market when the recorded addresses have no code on the chain', async () => {
    const lost = { token: '0x00000000000000000000000000000000000000aa', escrow: '0x00000000000000000000000000000000000000bb' };
    setData('market-c', { [MARKET_ADDRESSES_KEY]: JSON.stringify(lost) });
    const err = await run('market-c').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeployContractsError);
    expect((err as DeployContractsError).code).toBe('CHAIN_STATE_LOST');
    expect(dataOf('market-c')).toEqual({ [MARKET_ADDRESSES_KEY]: JSON.stringify(lost) });
  });

  it('spends no gas when the API or RBAC refuses: reading, or creating the claim', async () => {
    const nonce = await adminNonce();
    api.refuse = 403;
    try {
      await expect(run('market-d')).rejects.toMatchObject({ name: 'KubeApiError', status: 403 });
    } finally {
      api.refuse = undefined;
    }
    // a Role without `create`: the GET passes, the claim fails, before any transaction
    api.refuseMethod = { method: 'POST', status: 403 };
    try {
      await expect(run('market-d')).rejects.toBeInstanceOf(KubeApiError);
    } finally {
      api.refuseMethod = undefined;
    }
    expect(await adminNonce()).toBe(nonce);
    expect(dataOf('market-d')).toBeUndefined();
    expect(() => loadDeployContractsConfig({ RPC_URL: anvil.rpcUrl, CHAIN_ID: '31337', DEPLOYER_ADDRESS: '0x0000000000000000000000000000000000000000' })).toThrow(
      /ADMIN_PRIVATE_KEY[\s\S]*DEPLOYER_ADDRESS is the zero address/,
    );
  });

  it('a retry after a failure between deploy and publication publishes the market the failed run made, and deploys nothing', async () => {
    api.refuseMethod = { method: 'PATCH', status: 500 };
    try {
      await expect(run('market-e')).rejects.toMatchObject({ name: 'KubeApiError', status: 500 });
    } finally {
      api.refuseMethod = undefined;
    }
    const claim = JSON.parse(dataOf('market-e')![DEPLOYING_KEY]) as { nonce: number; block: number };
    expect(dataOf('market-e')![MARKET_ADDRESSES_KEY]).toBeUndefined();
    const made = expectedAddresses(roleAddress('admin'), claim.nonce);
    for (const address of Object.values(made)) expect((await codeAt(address))?.length).toBeGreaterThan(2);

    const nonceBefore = await adminNonce();
    const retry = await run('market-e');
    expect(retry).toEqual({ action: 'recovered', addresses: { ...made, deployBlock: claim.block } });
    expect(JSON.parse(dataOf('market-e')![MARKET_ADDRESSES_KEY])).toEqual(retry.addresses);
    expect(await adminNonce()).toBe(nonceBefore);
  }, 60_000);

  it('refuses, deploying nothing, when the claimed run left an incomplete market', async () => {
    const nonce = await adminNonce();
    setData('market-f', { [DEPLOYING_KEY]: JSON.stringify({ admin: roleAddress('admin'), chainId: anvil.chainId, nonce, block: 0 }) });
    // the admin key sent something else after the claim: no contract where the token would be
    const admin = privateKeyToAccount(devKey(ROLE_INDEX.admin));
    const wallet = createWalletClient({ account: admin, chain: localChain(anvil.rpcUrl, anvil.chainId), transport: http(anvil.rpcUrl) });
    await chain().waitForTransactionReceipt({ hash: await wallet.sendTransaction({ to: roleAddress('minter'), value: 1n }) });
    const err = await run('market-f').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DEPLOY_INCOMPLETE', message: expect.stringContaining('delete configmap market-f') });
    expect(await adminNonce()).toBe(nonce + 1);
    expect(dataOf('market-f')![MARKET_ADDRESSES_KEY]).toBeUndefined();
  }, 60_000);

  it('never overwrites addresses another run published while it deployed', async () => {
    const theirs = JSON.stringify({ token: '0x00000000000000000000000000000000000000cc', escrow: '0x00000000000000000000000000000000000000dd' });
    api.beforePatch = () => {
      api.beforePatch = undefined;
      const cm = api.configMaps.get('market-g')!;
      setData('market-g', { ...cm.data, [MARKET_ADDRESSES_KEY]: theirs });
    };
    try {
      await expect(run('market-g')).rejects.toMatchObject({ code: 'PUBLISHED_CONCURRENTLY' });
    } finally {
      api.beforePatch = undefined;
    }
    expect(dataOf('market-g')![MARKET_ADDRESSES_KEY]).toBe(theirs);
  }, 60_000);
});
