import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPublicClient, http, type Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { startAnvil, type AnvilHandle } from '@starminer/chain';
import { devKey, ROLE_INDEX } from '@starminer/service-testing';
import { deployContractsOnce, DeployContractsError, loadDeployContractsConfig, MARKET_ADDRESSES_KEY, type DeployContractsConfig } from './deploy-contracts';
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
  configMaps: Map<string, Record<string, string>>;
  calls: string[];
  /** Answers this status to every call while set (RBAC refusing, say). */
  refuse?: number;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
}

async function startFakeApi(): Promise<FakeApi> {
  const api = { configMaps: new Map<string, Record<string, string>>(), calls: [] as string[] } as FakeApi;
  api.server = createServer((req, res) => {
    void (async () => {
      const answer = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      api.calls.push(`${req.method} ${req.url}`);
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return answer(401, { kind: 'Status', reason: 'Unauthorized' });
      if (api.refuse) return answer(api.refuse, { kind: 'Status', reason: 'Forbidden' });
      const m = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps(?:\/([^/]+))?$/.exec(req.url ?? '');
      if (!m || m[1] !== NAMESPACE) return answer(404, { kind: 'Status', reason: 'NotFound' });
      const name = m[2];
      const body = (await readBody(req)) as { metadata?: { name: string }; data?: Record<string, string> } | undefined;
      if (req.method === 'GET' && name) {
        const data = api.configMaps.get(name);
        return data ? answer(200, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data }) : answer(404, { kind: 'Status', reason: 'NotFound' });
      }
      if (req.method === 'POST' && !name && body?.metadata?.name) {
        if (api.configMaps.has(body.metadata.name)) return answer(409, { kind: 'Status', reason: 'AlreadyExists' });
        api.configMaps.set(body.metadata.name, { ...body.data });
        return answer(201, body);
      }
      if (req.method === 'PATCH' && name && req.headers['content-type'] === 'application/merge-patch+json') {
        const data = api.configMaps.get(name);
        if (!data) return answer(404, { kind: 'Status', reason: 'NotFound' });
        api.configMaps.set(name, { ...data, ...body?.data });
        return answer(200, { metadata: { name }, data: api.configMaps.get(name) });
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

describe('deploy-contracts Job', () => {
  it('deploys the market on a fresh chain and publishes MARKET_ADDRESSES; a second run keeps it and sends no transaction', async () => {
    const first = await deployContractsOnce({ ...config, MARKET_CONFIGMAP: 'market-a' }, storeFor('market-a'));
    expect(first.action).toBe('deployed');
    const published = JSON.parse(api.configMaps.get('market-a')![MARKET_ADDRESSES_KEY]) as Record<string, unknown>;
    expect(published).toEqual({ ...first.addresses });
    for (const key of ['token', 'escrow', 'staking', 'vaults', 'anchor'] as const) expect((await codeAt(first.addresses[key]!))?.length).toBeGreaterThan(2);

    const nonceBefore = await createPublicClient({ transport: http(anvil.rpcUrl) }).getTransactionCount({ address: roleAddress('admin') });
    api.calls.length = 0;
    const second = await deployContractsOnce({ ...config, MARKET_CONFIGMAP: 'market-a' }, storeFor('market-a'));
    expect(second).toEqual({ action: 'kept', addresses: first.addresses });
    expect(api.calls).toEqual([`GET /api/v1/namespaces/${NAMESPACE}/configmaps/market-a`]);
    expect(await createPublicClient({ transport: http(anvil.rpcUrl) }).getTransactionCount({ address: roleAddress('admin') })).toBe(nonceBefore);
  }, 60_000);

  it('merges into a ConfigMap that exists without addresses (create answers 409, then a merge patch)', async () => {
    api.configMaps.set('market-b', { NOTE: 'made by hand' });
    const r = await deployContractsOnce({ ...config, MARKET_CONFIGMAP: 'market-b' }, storeFor('market-b'));
    expect(r.action).toBe('deployed');
    expect(api.configMaps.get('market-b')).toEqual({ NOTE: 'made by hand', [MARKET_ADDRESSES_KEY]: JSON.stringify(r.addresses) });
  }, 60_000);

  it('refuses to deploy a second market when the recorded addresses have no code on the chain', async () => {
    const lost = { token: '0x00000000000000000000000000000000000000aa', escrow: '0x00000000000000000000000000000000000000bb' };
    api.configMaps.set('market-c', { [MARKET_ADDRESSES_KEY]: JSON.stringify(lost) });
    const err = await deployContractsOnce({ ...config, MARKET_CONFIGMAP: 'market-c' }, storeFor('market-c')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeployContractsError);
    expect((err as DeployContractsError).code).toBe('CHAIN_STATE_LOST');
    expect(api.configMaps.get('market-c')).toEqual({ [MARKET_ADDRESSES_KEY]: JSON.stringify(lost) });
  });

  it('fails with the API status when RBAC refuses, and names a refused role address at start', async () => {
    api.refuse = 403;
    try {
      await expect(storeFor('market-d').read()).rejects.toMatchObject({ name: 'KubeApiError', status: 403 });
      await expect(storeFor('market-d').write({ A: '1' })).rejects.toBeInstanceOf(KubeApiError);
    } finally {
      api.refuse = undefined;
    }
    expect(() => loadDeployContractsConfig({ RPC_URL: anvil.rpcUrl, CHAIN_ID: '31337', DEPLOYER_ADDRESS: '0x0000000000000000000000000000000000000000' })).toThrow(
      /ADMIN_PRIVATE_KEY[\s\S]*DEPLOYER_ADDRESS is the zero address/,
    );
  });
});
