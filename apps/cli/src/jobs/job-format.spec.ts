import { historyTable, jobDetails, jobTable, updateDetail, updateLine, waitText, type JobView } from './job-format';

const AGPU = 10n ** 18n;
const settled: JobView = {
  jobId: 'job-1',
  status: 'settled',
  category: 'inference',
  urgency: 'normal',
  budgetWei: (50n * AGPU).toString(),
  expectedRuntimeSec: 60,
  nodeId: 'node-a',
  gpuCount: 1,
  priceWeiPerGpuHour: (12n * AGPU / 10n).toString(),
  costWei: (AGPU / 50n).toString(),
  contractAddress: '0x00000000000000000000000000000000000000c5',
  txHashes: { open: '0xopen', settle: '0xsettle' },
  result: { output: 'ab'.repeat(150), resultHash: '0xresult' },
  waitingReason: null,
  failure: null,
  submittedAt: '2026-11-24T12:00:05.000Z',
  deadlineAt: '2026-11-24T12:10:05.000Z',
};

describe('job formatting', () => {
  it('jobs get: every field that applies, amounts in AGPU, long output cut', () => {
    const text = jobDetails(settled);
    expect(text.split('\n')).toEqual([
      'job        job-1',
      'status     settled',
      'category   inference',
      'urgency    normal',
      'budget     50 AGPU',
      'runtime    1m',
      'node       node-a',
      'gpus       1',
      'price      1.2 AGPU per GPU-hour',
      'cost       0.02 AGPU',
      'contract   0x00000000000000000000000000000000000000c5',
      'open tx    0xopen',
      'settle tx  0xsettle',
      'result     0xresult',
      `output     ${'ab'.repeat(100)}… (300 chars; --json for all)`,
      'submitted  2026-11-24 12:00:05Z',
      'deadline   2026-11-24 12:10:05Z',
    ]);
  });

  it('jobs get: a queued job says why it waits; a failed one says why it failed', () => {
    expect(jobDetails({ jobId: 'j', status: 'queued', waitingReason: 'no node free' })).toBe('job      j\nstatus   queued\nwaiting  no node free');
    expect(jobDetails({ jobId: 'j', status: 'failed', failure: { code: 'OPEN_TIMED_OUT', reason: 'gave up' } })).toBe('job      j\nstatus   failed\nfailure  OPEN_TIMED_OUT: gave up');
  });

  it('jobs get: a redundant job shows its copies, their nodes and outcomes, and the verdict', () => {
    const redundancy = {
      copyIndex: 0,
      copies: 2,
      runs: [
        { jobId: 'g', nodeId: 'n1', outcome: 'tie' },
        { jobId: 'g-c1', nodeId: 'n2', outcome: 'tie' },
      ],
      verdict: { kind: 'tie', reason: 'no majority' },
    };
    expect(jobDetails({ jobId: 'g', status: 'refunded', redundancy }).split('\n').at(-1)).toBe('redundancy  copy 0 of 2; g on n1: tie; g-c1 on n2: tie; verdict: tie (no majority)');
  });

  it('jobs list: one row per job', () => {
    expect(jobTable([settled, { jobId: 'job-2', status: 'queued', category: 'rendering', budgetWei: '0', costWei: null, nodeId: null, submittedAt: '2026-11-24T12:01:00Z' }]).split('\n')).toEqual([
      'JOB    STATUS   CATEGORY   BUDGET   COST       NODE    SUBMITTED',
      'job-1  settled  inference  50 AGPU  0.02 AGPU  node-a  2026-11-24 12:00:05Z',
      'job-2  queued   rendering  0 AGPU   -          -       2026-11-24 12:01:00Z',
    ]);
  });

  it('jobs watch: one line per update with what it says', () => {
    expect(updateLine({ seq: '7', type: 'job.matched', status: 'matched', at: '2026-11-24T12:00:06Z', nodeId: 'node-a', costWei: (AGPU / 50n).toString() })).toBe(
      '2026-11-24 12:00:06Z  matched     job.matched  node node-a, cost 0.02 AGPU',
    );
    expect(updateLine({ seq: '8', type: 'job.queued', status: 'queued', at: '2026-11-24T12:00:05Z' })).toBe('2026-11-24 12:00:05Z  queued      job.queued');
    expect(updateDetail({ seq: '9', type: 'job.refunded', status: 'refunded', at: '', txHash: '0xtx', failure: { code: 'DEADLINE_PASSED', reason: 'late' } })).toBe('tx 0xtx, DEADLINE_PASSED: late');
  });

  it('jobs history: a table of every update', () => {
    expect(
      historyTable([
        { seq: '3', type: 'job.queued', status: 'queued', at: '2026-11-24T12:00:05Z' },
        { seq: '9', type: 'job.waiting', status: 'queued', at: '2026-11-24T12:00:06Z', waitingReason: 'no-supply' },
      ]).split('\n'),
    ).toEqual(['SEQ  AT                    STATUS  UPDATE       DETAIL', '3    2026-11-24 12:00:05Z  queued  job.queued   -', '9    2026-11-24 12:00:06Z  queued  job.waiting  no-supply']);
  });

  it('the spinner says where the job is', () => {
    expect(waitText('j', undefined)).toBe('job j: waiting for its first update');
    expect(waitText('j', { status: 'queued', type: 'job.waiting', waitingReason: 'capacity-busy' })).toBe('job j: queued (capacity-busy)');
  });

  it("escapes control characters in the providers' and the gateway's text: output, failure, waiting reason, each update", () => {
    const ESC = '\u001b';
    const text = jobDetails({ jobId: 'j', status: 'failed', waitingReason: `wait${ESC}[K`, failure: { code: 'X', reason: `bad\n${ESC}[2J` }, result: { output: `out\r\n${ESC}]0;t\u0007\u009b1m` } });
    expect(text.split('\n')).toEqual(['job      j', 'status   failed', 'waiting  wait\\x1b[K', 'failure  X: bad\\n\\x1b[2J', 'output   out\\r\\n\\x1b]0;t\\x07\\x9b1m']);
    const u = { seq: '1', type: `job.failed${ESC}[A`, status: `failed${ESC}`, at: '2026-11-24T12:00:06Z', waitingReason: `r${ESC}[H`, failure: { code: 'X', reason: `y\n${ESC}[2J` } };
    expect(updateLine(u)).toBe('2026-11-24 12:00:06Z  failed\\x1b  job.failed\\x1b[A  r\\x1b[H, X: y\\n\\x1b[2J');
    expect(historyTable([u]).split('\n')).toHaveLength(2);
    expect(waitText('j', { status: 'queued', type: 'job.waiting', waitingReason: `busy${ESC}[2J\n` })).toBe('job j: queued (busy\\x1b[2J\\n)');
  });
});
