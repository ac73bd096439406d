import { keccak256, toHex, type Hex } from 'viem';
import { postAnchor, readAnchor, readAnchorCount } from '@starminer/chain';
import { createClient, StarMinerApiError, type Anchor, type OpsStatus, type StarMinerClient } from '@starminer/sdk';
import { appendDrafts, eventually } from '@starminer/service-testing';
import { ServiceRuntime } from '@starminer/service-kit';
import { JobView } from '../src/views/entities';
import { OPERATOR_TOKEN, startMarket, type Market } from './market-harness';

const SERVICES = ['registry', 'intake', 'matching', 'deployer', 'settlement'] as const;

/** Every anchor, newest first, through the SDK's iterator (page by page). */
async function allAnchors(sm: StarMinerClient, pageSize: number): Promise<Anchor[]> {
  const out: Anchor[] = [];
  for await (const a of sm.anchors({ pageSize })) out.push(a);
  return out;
}

describe('the operator status (GET /v1/ops/status) and the anchors on chain (GET /v1/anchors)', () => {
  let market: Market;
  let sm: StarMinerClient;
  const opsStatus = (): Promise<OpsStatus> => sm.getOpsStatus({ operatorToken: OPERATOR_TOKEN });

  beforeAll(async () => {
    market = await startMarket();
    sm = createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch });
    // events for the deployer to anchor (every 2 s here), then more for a second anchor
    await sm.createOrg({ operatorToken: OPERATOR_TOKEN, name: 'Anchored One' });
    await eventually(async () => (await sm.listAnchors()).anchors.length >= 1, 30_000, 200);
    await sm.createOrg({ operatorToken: OPERATOR_TOKEN, name: 'Anchored Two' });
    await eventually(async () => (await sm.listAnchors()).anchors.length >= 2, 30_000, 200);
  }, 180_000);

  afterAll(async () => {
    await market?.stop();
  });

  it('lists every anchor newest first, each verified against the contract, with the transaction and block that posted it', async () => {
    const { publicClient } = market.chain;
    const anchors = await allAnchors(sm, 1);
    // every index the chain holds (the deployer may post more meanwhile), newest first; the ranges are contiguous from 1
    expect(anchors.length).toBeGreaterThanOrEqual(2);
    expect(anchors.length).toBeLessThanOrEqual(await readAnchorCount(publicClient, { addresses: market.addresses }));
    expect(anchors.map((a) => a.index)).toEqual(Array.from({ length: anchors.length }, (_, i) => anchors.length - 1 - i));
    expect(anchors.at(-1)!.fromSeq).toBe(1);
    for (const [i, a] of anchors.entries()) {
      const onChain = await readAnchor(publicClient, { addresses: market.addresses, index: a.index });
      expect([a.index, a.fromSeq, a.toSeq, a.root]).toEqual([onChain.index, Number(onChain.fromSeq), Number(onChain.toSeq), onChain.root]);
      expect(a.onChain).toBe('verified');
      const receipt = await publicClient.getTransactionReceipt({ hash: a.txHash as Hex });
      expect([a.blockNumber, receipt.status]).toEqual([Number(receipt.blockNumber), 'success']);
      expect(Date.parse(a.postedAt)).not.toBeNaN();
      if (i > 0) expect(a.toSeq).toBe(anchors[i - 1].fromSeq - 1);
    }
    // one page of one, then the next from its cursor
    const first = await sm.listAnchors({ limit: 1, cursor: String(anchors[0].index + 1) });
    expect(first).toEqual({ anchors: [anchors[0]], nextCursor: String(anchors[0].index) });
    expect((await sm.listAnchors({ limit: 1, cursor: first.nextCursor! })).anchors).toEqual([anchors[1]]);
    expect(await sm.listAnchors({ cursor: String(anchors.at(-1)!.index) })).toEqual({ anchors: [], nextCursor: null });
    const bad = await sm.listAnchors({ cursor: 'not-a-cursor' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(StarMinerApiError);
    expect(bad).toMatchObject({ status: 400, code: 'BAD_CURSOR' });
    expect(market.api.take()).toEqual([]);
  });

  it('answers the whole market healthy when every service is ready and nothing is parked or stuck; the operator token is required', async () => {
    const s = await opsStatus();
    expect(s.overall).toBe('healthy');
    expect(s.services.map((x) => [x.service, x.ready])).toEqual(SERVICES.map((name) => [name, true]));
    for (const x of [s.gateway, ...s.services]) {
      if (!('readers' in x)) throw new Error(`${x.service} did not answer: ${JSON.stringify(x.error)}`);
      expect([x.service, x.checks.nats, x.checks.postgres]).toEqual([x.service, { status: 'up' }, { status: 'up' }]);
      expect([x.service, x.readers.length > 0, x.readers.every((r) => r.state === 'running' && r.parked === 0 && r.checkpointSeq >= 0 && r.lagEvents >= 0)]).toEqual([x.service, true, true]);
    }
    expect(s.gateway).toMatchObject({ service: 'gateway', ready: true, checks: { chain: { status: 'up' } } });
    expect(s.gateway.readers.map((r) => r.name)).toContain('views');
    const lastSeq = await market.log.lastSeq();
    expect(s.log.lastSeq).toBeLessThanOrEqual(lastSeq);
    const [newest] = (await sm.listAnchors({ limit: 1 })).anchors;
    expect(s.chain).toMatchObject({ chainId: market.anvil.chainId, anchorContract: market.addresses.anchor, latestAnchor: { index: expect.any(Number), onChain: 'verified' } });
    expect(s.chain.latestAnchor!.index).toBeLessThanOrEqual(newest.index);
    expect(s.chain.eventsSinceAnchor).toBe(s.log.lastSeq! - s.chain.latestAnchor!.toSeq);
    expect(s.chain.blockNumber).toBeGreaterThanOrEqual(s.chain.latestAnchor!.blockNumber!);
    expect(s.stuckJobs).toEqual({ count: 0, jobs: [] });
    expect(s.chain.error ?? s.log.error ?? s.stuckJobs.error).toBeUndefined();

    const refused = await createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch }).getOpsStatus({ operatorToken: 'not-the-token' }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 401, code: 'OPERATOR_TOKEN_INVALID' });
    expect(market.api.take()).toEqual([]);
  });

  it('lists a job past its deadline as stuck, longest stuck first, and the market degraded', async () => {
    const views = market.gateway.get(ServiceRuntime).db.getRepository(JobView);
    const nowSec = Math.floor(Date.now() / 1000);
    const row = (jobId: string, over: Partial<JobView>): Partial<JobView> => ({
      jobId,
      orgId: 'org-stuck',
      status: 'running',
      category: 'inference',
      urgency: 'normal',
      budgetWei: 10n ** 18n,
      expectedRuntimeSec: 60,
      deadlineSec: 300,
      requirements: {},
      workload: {},
      submittedAt: new Date(),
      updatedAt: new Date(),
      lastSeq: '1',
      ...over,
    });
    // behind the API: two rows of the job view the log never had (removed after), one past its deadline for an hour, one matched 10 minutes ago
    await views.insert([
      row('job-stuck-past-deadline', { status: 'running', deadlineUnixSec: String(nowSec - 3600) }),
      row('job-stuck-matched', { status: 'matched', updatedAt: new Date(Date.now() - 10 * 60_000) }),
      // past its deadline by less than the grace: not stuck yet
      row('job-nearly-late', { status: 'contracted', deadlineUnixSec: String(nowSec - 5) }),
      // final: never stuck
      row('job-refunded', { status: 'refunded', deadlineUnixSec: String(nowSec - 7200) }),
    ] as never);
    try {
      const s = await opsStatus();
      expect(s.stuckJobs).toEqual({
        count: 2,
        jobs: [
          { jobId: 'job-stuck-past-deadline', status: 'running', reason: 'past-deadline', since: new Date((nowSec - 3600) * 1000).toISOString() },
          { jobId: 'job-stuck-matched', status: 'matched', reason: 'matched-without-contract', since: expect.any(String) },
        ],
      });
      expect(s.overall).toBe('degraded');
      expect(market.api.take()).toEqual([]);
    } finally {
      await views.delete(['job-stuck-past-deadline', 'job-stuck-matched', 'job-nearly-late', 'job-refunded']);
    }
  });

  it('given the deployer stopped, then it is listed as not answering and the market degraded; an anchor the log records and the chain lacks is missing, one the chain holds with another root a mismatch', async () => {
    await market.stopService('deployer');
    const s = await opsStatus();
    expect(s.overall).toBe('degraded');
    const deployer = s.services.find((x) => x.service === 'deployer');
    expect(deployer).toMatchObject({ service: 'deployer', ready: false, error: { code: 'COMMAND_UNAVAILABLE', message: expect.stringContaining('cmd.deployer.status') } });
    expect(s.services.filter((x) => x.service !== 'deployer').every((x) => x.ready)).toBe(true);

    // the log records anchor #count over the events since the last one; the chain never had it
    const { publicClient, wallet } = market.chain;
    const count = await readAnchorCount(publicClient, { addresses: market.addresses });
    const last = await readAnchor(publicClient, { addresses: market.addresses, index: count - 1 });
    const fromSeq = Number(last.toSeq) + 1;
    const toSeq = await market.log.lastSeq();
    expect(toSeq).toBeGreaterThanOrEqual(fromSeq);
    const recordedRoot = keccak256(toHex('a root the chain never saw'));
    await appendDrafts(market.log, 'anchor', String(count), [{ type: 'AnchorPosted', data: { index: count, fromSeq, toSeq, root: recordedRoot, txHash: null } }], { actor: 'service:deployer' });
    const [missing, verified] = (await sm.listAnchors({ limit: 2 })).anchors;
    expect(missing).toEqual({ index: count, fromSeq, toSeq, root: recordedRoot, txHash: null, blockNumber: null, postedAt: expect.any(String), onChain: 'missing' });
    expect(verified).toMatchObject({ index: count - 1, onChain: 'verified' });

    // the chain now holds that range with another root (a post the log does not record)
    const posted = await postAnchor(wallet(market.infra.chain!.roles.deployer), publicClient, { addresses: market.addresses, fromSeq: BigInt(fromSeq), toSeq: BigInt(toSeq), root: keccak256(toHex('another root')) });
    expect(posted.index).toBe(count);
    expect((await sm.listAnchors({ limit: 1 })).anchors[0]).toMatchObject({ index: count, root: recordedRoot, onChain: 'mismatch' });
    expect((await opsStatus()).chain.latestAnchor).toMatchObject({ index: count, onChain: 'mismatch' });
    expect(market.api.take()).toEqual([]);
  });
});
