import { earningsText, nodeStatusText } from './provider-format';

const AGPU = 10n ** 18n;

describe('provider formatting', () => {
  it('status: the node as the market sees it, and its jobs by status', () => {
    const text = nodeStatusText({
      node: { nodeId: 'node-a', nodeAddress: '0xabc', providerId: 'acme', gpuModel: 'H100', gpuCount: 2, vramGiB: 80, region: 'eu-west', reputation: 0.5, benchmarkScore: 10, online: true, stakeWei: '0' },
      jobs: { queued: 0, running: 1, settled: 3 },
    });
    expect(text.split('\n')).toEqual([
      'node        node-a',
      'address     0xabc',
      'provider    acme',
      'online      yes',
      'gpu         2 x H100, 80 GiB each',
      'region      eu-west',
      'reputation  0.500',
      'benchmark   10',
      'stake       0 AGPU',
      'jobs        running 1, settled 3',
    ]);
  });

  it('earnings: the total, the counts and each paid job', () => {
    const text = earningsText({
      nodeId: 'node-a',
      totalEarnedWei: (3n * AGPU / 2n).toString(),
      settledJobs: 1,
      refundedJobs: 0,
      failedJobs: 2,
      jobs: [{ jobId: 'job-1', costWei: (3n * AGPU / 2n).toString(), settleTxHash: '0xtx', settledAt: '2026-11-24T12:00:00Z' }],
      nextCursor: null,
    });
    expect(text.split('\n')).toEqual([
      'node      node-a',
      'earned    1.5 AGPU',
      'settled   1',
      'refunded  0',
      'failed    2',
      '',
      'JOB    PAID      SETTLED               SETTLE TX',
      'job-1  1.5 AGPU  2026-11-24 12:00:00Z  0xtx',
    ]);
    expect(earningsText({ nodeId: 'n', totalEarnedWei: '0', settledJobs: 0, refundedJobs: 0, failedJobs: 0, jobs: [], nextCursor: null })).not.toContain('JOB');
  });
});
