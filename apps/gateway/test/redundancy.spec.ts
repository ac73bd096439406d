/**
 * Redundancy (issue 17), end to end on real NATS, Postgres and anvil: a requester asks for a job
 * on k nodes; intake queues k copies (each reserving its budget), matching places them on distinct
 * nodes of the one GPU model, each copy gets its own escrow, the agents run it, and settlement
 * holds each verified result until the group's verdict. One agent is dishonest (a test runner that
 * perturbs its output): with k = 3 the two honest nodes are paid and it is not; with k = 2 it is a
 * tie and every copy is refunded with the reason. Tokens are conserved throughout.
 */
import { redundantCopyJobIds, resultHashOf, type WorkloadResult } from '@starminer/domain';
import { createClient, type Job, type StarMinerClient } from '@starminer/sdk';
import { ledgerState } from './ledger';
import { OPERATOR_TOKEN, startMarket, type Market } from './market-harness';

const AGPU = 10n ** 18n;

/** The dishonest node: it changes what the command printed, and hashes its forgery so its signature holds. */
const forge = (r: WorkloadResult): WorkloadResult => {
  const output = JSON.stringify({ ...(JSON.parse(r.output) as object), stdout: '[1,2,4]\n' });
  return { ...r, output, resultHash: resultHashOf(output) };
};

/** A command job for the A100 nodes of one region (each test has its own market), asked on `copies` nodes. */
const job = (region: string, copies: number) => ({
  category: 'inference',
  budgetWei: (20n * AGPU).toString(),
  urgency: 'normal',
  latencyPreference: 'normal',
  requirements: { gpuModels: ['A100'], gpuCount: 1, minVramGiB: 40, tee: false, regions: [region] },
  expectedRuntimeSec: 60,
  deadlineSec: 1_800,
  workload: { kind: 'command', command: ['echo', '[1,2,3]'] },
  redundancy: { copies, compare: { mode: 'exact' } },
});

describe('redundancy: the same job on k nodes, results compared', () => {
  let market: Market;
  let requester: StarMinerClient;
  let accountAddress: `0x${string}`;

  beforeAll(async () => {
    market = await startMarket();
    const org = await createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch }).createOrg({ operatorToken: OPERATOR_TOKEN, name: 'Redundancy' });
    accountAddress = org.accountAddress as `0x${string}`;
    requester = createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch, apiKey: org.apiKey });
    await requester.faucet({ amountWei: 1000n * AGPU });
  }, 120_000);

  afterAll(async () => {
    await market?.stop();
  });

  const settled = (jobId: string): Promise<Job> => requester.waitForJob({ jobId, statuses: ['settled', 'refunded', 'failed'], timeoutMs: 150_000 });

  it('k = 3 with one dishonest node: the two honest nodes are paid, the third is not; each copy ran on its own node; tokens conserved', async () => {
    const agents = [
      await market.startAgent({ name: 'red-honest-1', gpuModel: 'A100', vramGiB: 80, region: 'eu-red', commandRuntime: true }),
      await market.startAgent({ name: 'red-honest-2', gpuModel: 'A100', vramGiB: 80, region: 'eu-red', commandRuntime: true }),
      await market.startAgent({ name: 'red-dishonest', gpuModel: 'A100', vramGiB: 80, region: 'eu-red', commandRuntime: true, tamper: forge }),
    ];
    const escrow = market.addresses.escrow;
    const tracked = [accountAddress, ...agents.map((a) => a.account.address), escrow];
    const before = await ledgerState(market, tracked);

    const { jobId } = await requester.submitJob({ job: job('eu-red', 3) as never, idempotencyKey: 'redundancy-3' });
    const copies = await Promise.all(redundantCopyJobIds(jobId, 3).map((id) => settled(id)));

    // each copy on its own node
    expect(new Set(copies.map((c) => c.nodeId)).size).toBe(3);
    const dishonest = agents[2]!.nodeId;
    for (const c of copies) expect(c.status).toBe(c.nodeId === dishonest ? 'refunded' : 'settled');

    // the group as the requester reads it
    const answer = (await requester.getJob({ jobId })) as Job & { redundancy?: Record<string, unknown> };
    expect(answer.redundancy).toMatchObject({ groupId: jobId, copyIndex: 0, copies: 3, verdict: { kind: 'majority', dissentingNodeIds: [dishonest] } });
    const runs = answer.redundancy!.runs as { nodeId: string; outcome: string }[];
    expect(runs.map((r) => [r.nodeId, r.outcome]).sort()).toEqual(
      agents.map((a) => [a.nodeId, a.nodeId === dishonest ? 'dissent' : 'agree']).sort(),
    );

    // the dissenting copy's history: its verdict, then its refund
    const dissentCopy = copies.find((c) => c.nodeId === dishonest)!;
    const history = await requester.getJobHistory({ jobId: dissentCopy.jobId });
    const verdictUpdate = history.find((u) => u.type === 'job.redundancy-verdict') as { redundancy?: { outcome: string } } | undefined;
    expect(verdictUpdate?.redundancy).toMatchObject({ outcome: 'dissent' });
    expect(history.at(-1)).toMatchObject({ type: 'job.refunded' });

    // tokens: the supply unchanged; each honest node paid its copy's cost, the dishonest nothing;
    // the requester paid the two costs, the dissenting copy's escrow came back; the escrow holds nothing of the job
    const after = await ledgerState(market, tracked);
    expect(after.supplyWei).toBe(before.supplyWei);
    const deltas = after.balancesWei.map((w, i) => w - before.balancesWei[i]!);
    const costOf = (nodeId: string) => BigInt(copies.find((c) => c.nodeId === nodeId)!.costWei!);
    expect(deltas[1]).toBe(costOf(agents[0]!.nodeId));
    expect(deltas[2]).toBe(costOf(agents[1]!.nodeId));
    expect(deltas[3]).toBe(0n);
    expect(deltas[0]).toBe(-(costOf(agents[0]!.nodeId) + costOf(agents[1]!.nodeId)));
    expect(deltas[4]).toBe(0n);
    expect(deltas.reduce((a, b) => a + b, 0n)).toBe(0n);
    for (const a of agents) await a.stop();
  }, 300_000);

  it('k = 2 with one dishonest node: a tie, both copies refunded with the reason, nobody paid; tokens conserved', async () => {
    const agents = [
      await market.startAgent({ name: 'tie-honest', gpuModel: 'A100', vramGiB: 80, region: 'eu-tie', commandRuntime: true }),
      await market.startAgent({ name: 'tie-dishonest', gpuModel: 'A100', vramGiB: 80, region: 'eu-tie', commandRuntime: true, tamper: forge }),
    ];
    const tracked = [accountAddress, ...agents.map((a) => a.account.address), market.addresses.escrow];
    const before = await ledgerState(market, tracked);

    const { jobId } = await requester.submitJob({ job: job('eu-tie', 2) as never, idempotencyKey: 'redundancy-2' });
    const copies = await Promise.all(redundantCopyJobIds(jobId, 2).map((id) => settled(id)));
    expect(copies.map((c) => c.status)).toEqual(['refunded', 'refunded']);
    const answer = (await requester.getJob({ jobId })) as Job & { redundancy?: { verdict: { kind: string; reason: string } } };
    expect(answer.redundancy?.verdict).toMatchObject({ kind: 'tie', reason: expect.stringMatching(/no result was submitted by a majority of the 2 copies \(2 needed\)/) });

    const after = await ledgerState(market, tracked);
    expect(after.supplyWei).toBe(before.supplyWei);
    expect(after.balancesWei).toEqual(before.balancesWei);
    for (const a of agents) await a.stop();
  }, 300_000);
});
