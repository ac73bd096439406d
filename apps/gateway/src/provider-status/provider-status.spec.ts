import { EXAMPLE_EVENT_DATA } from '@starminer/events';
import { viewsOnTestDatabase, type ViewsUnderTest } from '../nodes/views.testing';
import { nodeEarnings, nodeStatus, ownNode } from './provider-status';

/** A provider's view of its node, on the gateway's real read model (Postgres, written by its projection). */
let views: ViewsUnderTest;

const AGPU = 10n ** 18n;
const NODE = 'node-p1';
const KEY = `0x${'a1'.repeat(20)}`;
const OTHER = 'node-p2';
const tx = (b: string) => `0x${b.repeat(32)}`;
const at = (minute: number) => new Date(Date.UTC(2026, 10, 27, 12, minute));

/** A job matched to `nodeId` for `costWei`, then carried to `end`. */
async function job(jobId: string, nodeId: string, costWei: bigint, end: 'running' | 'settled' | 'refunded' | 'failed', minute: number): Promise<void> {
  await views.apply('JobSubmitted', { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId });
  await views.apply('JobMatched', { ...EXAMPLE_EVENT_DATA.JobMatched, jobId, nodeId, nodeAddress: nodeId === NODE ? KEY : `0x${'b2'.repeat(20)}`, costWei });
  if (end === 'failed') return views.apply('ContractOpenFailed', { jobId, code: 'InsufficientAllowance', reason: 'no allowance' });
  await views.apply('ContractOpened', { ...EXAMPLE_EVENT_DATA.ContractOpened, jobId, escrowWei: costWei });
  await views.apply('JobStarted', { ...EXAMPLE_EVENT_DATA.JobStarted, jobId, nodeId });
  if (end === 'settled') await views.apply('ContractReleased', { jobId, nodeAddress: KEY, amountWei: costWei, txHash: tx(jobId.slice(-1)) }, at(minute));
  if (end === 'refunded') await views.apply('ContractRefunded', { ...EXAMPLE_EVENT_DATA.ContractRefunded, jobId, amountWei: costWei }, at(minute));
}

beforeAll(async () => {
  views = await viewsOnTestDatabase();
  for (const [nodeId, nodeAddress] of [
    [NODE, KEY],
    [OTHER, `0x${'b2'.repeat(20)}`],
  ]) {
    await views.apply('NodeRegistered', { ...EXAMPLE_EVENT_DATA.NodeRegistered, nodeId, nodeAddress, stakeWei: 5n * AGPU, poolId: 'pool-a' });
    await views.apply('NodeAvailabilityChanged', { nodeId, online: true, reason: 'heartbeat' });
  }
  // settled in the order 3, 1, 2 (by time), so the page order is by settlement, not by id
  await job('job-1', NODE, 2n * AGPU, 'settled', 5);
  await job('job-2', NODE, 3n * AGPU, 'settled', 9);
  await job('job-3', NODE, 1n * AGPU, 'settled', 1);
  await job('job-4', NODE, 7n * AGPU, 'refunded', 3);
  await job('job-5', NODE, 7n * AGPU, 'failed', 0);
  await job('job-6', NODE, 1n * AGPU, 'running', 0);
  await job('job-7', OTHER, 11n * AGPU, 'settled', 2);
}, 120_000);
afterAll(async () => {
  await views?.close();
});

describe("the provider's view of its node", () => {
  it('given a request signed by the node key (any case), then the node; another key is NOT_NODE_KEY; an unknown node NODE_NOT_FOUND', async () => {
    await expect(ownNode(views.ds.manager, NODE, KEY.toUpperCase().replace('0X', '0x'))).resolves.toMatchObject({ nodeId: NODE });
    await expect(ownNode(views.ds.manager, NODE, `0x${'b2'.repeat(20)}`)).rejects.toMatchObject({ code: 'NOT_NODE_KEY' });
    await expect(ownNode(views.ds.manager, 'node-none', KEY)).rejects.toMatchObject({ code: 'NODE_NOT_FOUND' });
  });

  it('answers the node as the market sees it, with its jobs by status now (every status present)', async () => {
    const status = await nodeStatus(views.ds.manager, await ownNode(views.ds.manager, NODE, KEY));
    expect(status.node).toMatchObject({ nodeId: NODE, nodeAddress: KEY, online: true, reputation: 0.5, stakeWei: (5n * AGPU).toString(), poolId: 'pool-a', activeJobs: 1 });
    expect(status.jobs).toEqual({ queued: 0, matched: 0, contracted: 0, running: 1, completed: 0, settled: 3, refunded: 1, failed: 1, cancelled: 0 });
  });

  it('answers what the node was paid: the total of its settled jobs, refunded and failed counts, settled jobs in settlement order', async () => {
    const node = await ownNode(views.ds.manager, NODE, KEY);
    const all = await nodeEarnings(views.ds.manager, node, {});
    expect(all).toEqual({
      nodeId: NODE,
      nodeAddress: KEY,
      totalEarnedWei: (6n * AGPU).toString(),
      settledJobs: 3,
      refundedJobs: 1,
      failedJobs: 1,
      jobs: [
        { jobId: 'job-3', costWei: (1n * AGPU).toString(), paidWei: (1n * AGPU).toString(), settleTxHash: tx('3'), settledAt: at(1).toISOString() },
        { jobId: 'job-1', costWei: (2n * AGPU).toString(), paidWei: (2n * AGPU).toString(), settleTxHash: tx('1'), settledAt: at(5).toISOString() },
        { jobId: 'job-2', costWei: (3n * AGPU).toString(), paidWei: (3n * AGPU).toString(), settleTxHash: tx('2'), settledAt: at(9).toISOString() },
      ],
      nextCursor: null,
    });
  });

  it('pages the settled jobs by cursor, the totals on every page', async () => {
    const node = await ownNode(views.ds.manager, NODE, KEY);
    const first = await nodeEarnings(views.ds.manager, node, { limit: 2 });
    expect(first.jobs.map((j) => j.jobId)).toEqual(['job-3', 'job-1']);
    expect(first.nextCursor).toBe('job-1');
    const second = await nodeEarnings(views.ds.manager, node, { limit: 2, cursor: first.nextCursor! });
    expect(second.jobs.map((j) => j.jobId)).toEqual(['job-2']);
    expect(second.nextCursor).toBeNull();
    expect(second.totalEarnedWei).toBe(first.totalEarnedWei);
  });

  it.each([
    ['a job of another node', 'job-7'],
    ['a job of the node that did not settle', 'job-4'],
    ['no job', 'job-none'],
    ['no id', 'not an id'],
  ])('given a cursor naming %s, then BAD_CURSOR', async (_what, cursor) => {
    const node = await ownNode(views.ds.manager, NODE, KEY);
    await expect(nodeEarnings(views.ds.manager, node, { cursor })).rejects.toMatchObject({ code: 'BAD_CURSOR' });
  });

  it('given a node with no job, then zero everywhere', async () => {
    await views.apply('NodeRegistered', { ...EXAMPLE_EVENT_DATA.NodeRegistered, nodeId: 'node-p3', nodeAddress: `0x${'c3'.repeat(20)}` });
    const node = await ownNode(views.ds.manager, 'node-p3', `0x${'c3'.repeat(20)}`);
    expect(await nodeEarnings(views.ds.manager, node, {})).toMatchObject({ totalEarnedWei: '0', settledJobs: 0, refundedJobs: 0, failedJobs: 0, jobs: [], nextCursor: null });
    expect((await nodeStatus(views.ds.manager, node)).node).toMatchObject({ online: false, stakeWei: '0', activeJobs: 0 });
  });
});
