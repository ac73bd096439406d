import { allZero, countFaults, NO_FAULTS, logAgreesWithChain, type ChainJob, type LogJob, type Observations, type Submission } from './counts';

const ORG = 'org-a';
const logJob = (jobId: string, over: Partial<LogJob> = {}): LogJob => ({
  jobId,
  orgId: ORG,
  submitted: 1,
  released: 0,
  refunded: 0,
  cancelled: 0,
  failed: 0,
  chainEffectLost: 0,
  refundOnChain: false,
  deadlineUnixSec: 1_000,
  ...over,
});
const chainJob = (status: ChainJob['status'], over: Partial<ChainJob> = {}): ChainJob => ({
  status,
  costWei: 10n,
  releasedEvents: status === 'released' ? 1 : 0,
  refundedEvents: status === 'refunded' ? 1 : 0,
  ...over,
});
const submission = (key: string, ...ids: string[]): Submission => ({ key, orgId: ORG, acceptedJobIds: ids, unanswered: false });

/** A clean run: two jobs settled, one refunded before any contract, tokens conserved, one mint of 100. */
function clean(): Observations {
  return {
    submissions: [submission('k1', 'j1'), submission('k2', 'j2', 'j2'), submission('k3', 'j3')],
    orgIds: new Set([ORG]),
    logJobs: new Map([
      ['j1', logJob('j1', { released: 1 })],
      ['j2', logJob('j2', { released: 1 })],
      ['j3', logJob('j3', { refunded: 1, refundOnChain: false })],
      ['other', logJob('other', { orgId: 'demo' })],
    ]),
    chainJobs: new Map([
      ['j1', chainJob('released')],
      ['j2', chainJob('released')],
    ]),
    apiVisible: new Map([
      ['j1', true],
      ['j2', true],
      ['j3', true],
    ]),
    tokensBefore: { supplyWei: 1_000n, escrowWei: 0n },
    tokensAfter: { supplyWei: 1_100n, escrowWei: 0n },
    mintsAnsweredWei: 100n,
    faucetUnanswered: 0,
    nowUnixSec: 2_000,
    graceSec: 120,
  };
}

describe('countFaults', () => {
  it('given a clean run (a retried request answered twice with the same job), counts nothing', () => {
    const c = countFaults(clean());
    expect(c).toEqual(NO_FAULTS);
    expect(allZero(c)).toBe(true);
  });

  it('given a 202 whose job the log never got, counts a submission without a job', () => {
    const o = clean();
    const c = countFaults({ ...o, submissions: [...o.submissions, submission('k4', 'ghost')] });
    expect(c.submissionsWithoutJob).toBe(1);
    expect(allZero(c)).toBe(false);
  });

  it('given a job on the log the API no longer shows, counts it lost', () => {
    const o = clean();
    expect(countFaults({ ...o, apiVisible: new Map([...o.apiVisible, ['j1', false]]) }).jobsLost).toBe(1);
  });

  it('given one request answered with two job ids, or a job of our org no answer named, counts duplicates', () => {
    const o = clean();
    const twoIds = countFaults({ ...o, submissions: [submission('k1', 'j1', 'j1b'), ...o.submissions.slice(1)], logJobs: new Map([...o.logJobs, ['j1b', logJob('j1b', { released: 1 })]]), chainJobs: new Map([...o.chainJobs, ['j1b', chainJob('released')]]), apiVisible: new Map([...o.apiVisible, ['j1b', true]]) });
    expect(twoIds.jobsDuplicated).toBe(1);
    const unnamed = countFaults({ ...o, logJobs: new Map([...o.logJobs, ['j9', logJob('j9', { cancelled: 1 })]]) });
    expect(unnamed.jobsDuplicated).toBe(1);
  });

  it('given a job settled twice on the log, or released and refunded on chain, counts it ended twice', () => {
    const o = clean();
    expect(countFaults({ ...o, logJobs: new Map([...o.logJobs, ['j1', logJob('j1', { released: 2 })]]) }).jobsEndedTwice).toBe(1);
    expect(countFaults({ ...o, chainJobs: new Map([...o.chainJobs, ['j2', chainJob('released', { refundedEvents: 1 })]]) }).jobsEndedTwice).toBe(1);
  });

  it('given a job settled on the log whose release is not on chain (a chain restored from older state), counts a mismatch', () => {
    const o = clean();
    const c = countFaults({ ...o, chainJobs: new Map([...o.chainJobs, ['j1', chainJob('open')]]), tokensAfter: { supplyWei: 1_100n, escrowWei: 10n } });
    expect(c.jobsLogChainMismatch).toBe(1);
    expect(c.tokensCreatedOrLostWei).toBe('0'); // the escrow holds what the open contract says: no token lost, the job is wrong
  });

  it('given a job not ended, counts it stuck only past its deadline plus grace', () => {
    const o = clean();
    const running = new Map([...o.logJobs, ['j3', logJob('j3', { deadlineUnixSec: 1_900 })]]);
    expect(countFaults({ ...o, logJobs: running, nowUnixSec: 2_000 })).toMatchObject({ jobsStuck: 0, jobsUnfinished: 1 });
    expect(countFaults({ ...o, logJobs: running, nowUnixSec: 2_021 })).toMatchObject({ jobsStuck: 1, jobsUnfinished: 0 });
  });

  it('given a mint nobody recorded, or tokens left in the escrow that no open contract holds, counts the tokens', () => {
    const o = clean();
    expect(countFaults({ ...o, tokensAfter: { supplyWei: 1_200n, escrowWei: 0n } }).tokensCreatedOrLostWei).toBe('100');
    expect(countFaults({ ...o, tokensAfter: { supplyWei: 1_100n, escrowWei: 7n } }).tokensCreatedOrLostWei).toBe('7');
    expect(countFaults({ ...o, tokensAfter: { supplyWei: 1_050n, escrowWei: 0n } }).tokensCreatedOrLostWei).toBe('50');
  });

  it('given requests and faucet calls that never got an answer, counts them', () => {
    const o = clean();
    const c = countFaults({ ...o, submissions: [...o.submissions, { key: 'k5', orgId: ORG, acceptedJobIds: [], unanswered: true }], faucetUnanswered: 2 });
    expect(c).toMatchObject({ submissionsUnanswered: 1, faucetUnanswered: 2 });
  });
});

describe('logAgreesWithChain', () => {
  it.each<[string, LogJob | undefined, ChainJob | undefined, boolean]>([
    ['settled and released', logJob('j', { released: 1 }), chainJob('released'), true],
    ['settled, chain still open', logJob('j', { released: 1 }), chainJob('open'), false],
    ['refunded on chain, chain refunded', logJob('j', { refunded: 1, refundOnChain: true }), chainJob('refunded'), true],
    ['refunded with nothing escrowed, nothing on chain', logJob('j', { refunded: 1 }), undefined, true],
    ['released on chain, the log has no release', logJob('j'), chainJob('released'), false],
    ['cancelled on the log, escrow open', logJob('j', { cancelled: 1 }), chainJob('open'), false],
    ['running, escrow open', logJob('j'), chainJob('open'), true],
    ['no log, chain open', undefined, chainJob('open'), false],
  ])('%s: %s', (_name, log, chain, agrees) => {
    expect(logAgreesWithChain(log, chain)).toBe(agrees);
  });
});
