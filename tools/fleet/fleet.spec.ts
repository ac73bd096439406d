import { createClient, type StarMinerClient } from '@starminer/sdk';
import { OPERATOR_TOKEN, startMarket, type Market } from '../../apps/gateway/test/market-harness';
import { FLEET_HEARTBEAT_MS, fleetNode, startFleet, type Fleet } from './fleet';

const AGPU = 10n ** 18n;
const NODES = 3;

const job = (i: number) =>
  ({
    category: 'inference',
    budgetWei: (10n * AGPU).toString(),
    urgency: 'normal',
    latencyPreference: 'normal',
    requirements: { gpuModels: [], gpuCount: 1, minVramGiB: 0, tee: false, regions: [] },
    expectedRuntimeSec: 30,
    workload: { kind: 'hash-chain', seed: `fleet-spec-${i}`, iterations: 4 },
  }) as const;

describe('the simulated fleet, against the whole market in one process', () => {
  let market: Market;
  let requester: StarMinerClient;
  let fleet: Fleet | undefined;

  beforeAll(async () => {
    market = await startMarket();
    const org = await createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch }).createOrg({ operatorToken: OPERATOR_TOKEN, name: 'fleet-spec' });
    requester = createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch, apiKey: org.apiKey });
    await requester.faucet({ amountWei: 100n * AGPU });
  }, 120_000);

  afterAll(async () => {
    await fleet?.stop();
    await market?.stop();
  });

  it('spreads its nodes over the GPU catalogue and regions, each with its own key, the same for the same seed', () => {
    const a = fleetNode('s', 0, 8);
    const b = fleetNode('s', 1, 8);
    expect(a.account.address).not.toBe(b.account.address);
    expect(a.registration.gpuModel).not.toBe(b.registration.gpuModel);
    expect(fleetNode('s', 0, 8).account.address).toBe(a.account.address);
    expect(fleetNode('t', 0, 8).account.address).not.toBe(a.account.address);
  });

  it('registers its nodes, runs jobs to settlement through the agent protocol, and its long polls stand for its heartbeats', async () => {
    const startedAt = Date.now();
    // what each call proved itself with: one signed login per node, a session token on everything else (long polls included)
    const sent: { path: string; auth: 'session' | 'signed' | 'none' }[] = [];
    const recording: typeof fetch = (input, init) => {
      const headers = (init?.headers ?? {}) as Record<string, string>;
      const auth = headers.authorization?.startsWith('NodeSession ') ? 'session' : headers['x-node-signature'] ? 'signed' : 'none';
      sent.push({ path: new URL(String(input)).pathname + new URL(String(input)).search, auth });
      return market.api.fetch(input, init);
    };
    fleet = await startFleet({ gatewayUrl: market.gatewayUrl, chainId: market.anvil.chainId, nodes: NODES, gpusPerNode: 2, seed: 'spec', pollWaitMs: 2_000, fetch: recording });
    expect(fleet.stats.registered).toBe(NODES);
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await requester.submitJob({ job: job(i), idempotencyKey: `fleet-spec-${i}` })).jobId);
    for (const jobId of ids) {
      const done = await requester.waitForJob({ jobId, statuses: ['settled', 'refunded', 'failed'], timeoutMs: 60_000 });
      expect(done.status).toBe('settled');
      expect(fleet.nodeIds).toContain(done.nodeId);
    }
    expect(fleet.stats.started).toBe(4);
    expect(fleet.stats.submitted).toBe(4);
    // past a heartbeat interval: the nodes sent no heartbeat after the one at registration, their polls stood for them
    const waitMs = startedAt + FLEET_HEARTBEAT_MS + 3_000 - Date.now();
    if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
    expect(fleet.stats.heartbeats).toBe(NODES);
    const nodes = (await requester.listNodes()).nodes.filter((n) => fleet!.nodeIds.includes(n.nodeId));
    expect(nodes.map((n) => n.online)).toEqual([true, true, true]);
    expect(fleet.stats.errors).toEqual({});
    expect(market.api.take()).toEqual([]);
    expect(sent.filter((c) => c.auth === 'signed').map((c) => c.path)).toEqual(Array(NODES).fill('/v1/providers/sessions'));
    expect(sent.filter((c) => c.auth === 'none')).toEqual([]);
    const sessionPaths = sent.filter((c) => c.auth === 'session').map((c) => c.path);
    // long polls (their wait jittered under pollWaitMs) on the token too
    expect(sessionPaths.filter((p) => /\/assignments\?waitMs=[1-9][0-9]*$/.test(p)).length).toBeGreaterThan(NODES);
    expect(sessionPaths.filter((p) => p.endsWith('/result'))).toHaveLength(4);
  }, 120_000);
});
