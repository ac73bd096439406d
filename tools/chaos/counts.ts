/**
 * What a chaos run counts, from what it observed after the market went quiet: the answers the
 * clients got, the jobs as the trade log has them, the escrow as the chain has it, the jobs as the
 * API shows them, and the token supply before and after. Pure: the observing is in observe.ts.
 * Every count must be 0 (tokensCreatedOrLostWei "0").
 */

/** One client request (one Idempotency-Key), with every 2xx answer it got across its retries. */
export interface Submission {
  key: string;
  orgId: string;
  /** The job ids of every 202 answer (the same id each time when the edge is exactly once). */
  acceptedJobIds: string[];
  /** True when no attempt got a 2xx or a 4xx before the client gave up (only 5xx and timeouts). */
  unanswered: boolean;
}

/** A job as the trade log has it. */
export interface LogJob {
  jobId: string;
  orgId: string;
  /** JobSubmitted events for this id (more than one would be a log bug; one is normal). */
  submitted: number;
  released: number;
  refunded: number;
  cancelled: number;
  failed: number;
  /** ChainEffectLost: a chain effect recorded as failed for good (an end, as the issue allows). */
  chainEffectLost: number;
  /** Whether ContractRefunded carried a transaction (a refund on chain) or null (nothing was escrowed). */
  refundOnChain: boolean;
  /** When the job has had its time (unix seconds): the chain's deadline once opened, else its submission (or match) plus deadlineSec. */
  deadlineUnixSec: number;
}

/** A job's compute contract as the chain has it after the run. */
export interface ChainJob {
  status: 'none' | 'open' | 'released' | 'refunded' | 'disputed';
  costWei: bigint;
  /** ComputeContractReleased / ComputeContractRefunded events for this job on chain. */
  releasedEvents: number;
  refundedEvents: number;
}

export interface TokenSnapshot {
  /** AGPU totalSupply: every balance, escrow and stake together. */
  supplyWei: bigint;
  /** What the escrow contract holds. */
  escrowWei: bigint;
}

export interface Observations {
  submissions: readonly Submission[];
  /** The orgs the run created: jobs of other orgs (the demo org) are not counted. */
  orgIds: ReadonlySet<string>;
  logJobs: ReadonlyMap<string, LogJob>;
  chainJobs: ReadonlyMap<string, ChainJob>;
  /** Whether GET /v1/jobs/:id found the job. */
  apiVisible: ReadonlyMap<string, boolean>;
  tokensBefore: TokenSnapshot;
  tokensAfter: TokenSnapshot;
  /** The faucet mints the clients asked for and got a 2xx for, once per Idempotency-Key, during the run. */
  mintsAnsweredWei: bigint;
  /** Faucet requests that never got an answer (their mint may or may not have happened). */
  faucetUnanswered: number;
  nowUnixSec: number;
  /** How long past its deadline a job may take to end before it counts as stuck. */
  graceSec: number;
}

export interface ChaosCounts {
  /** A job the log has (JobSubmitted) for a 202, which the API does not show. */
  jobsLost: number;
  /** A 202 whose job id has no JobSubmitted on the log. */
  submissionsWithoutJob: number;
  /** More jobs than requests: a request answered with two job ids, or a job on the log for our orgs that no request was answered with. */
  jobsDuplicated: number;
  /** Settled or refunded more than once, on the log or on chain. */
  jobsEndedTwice: number;
  /** The log and the chain disagree about a job's end (settled on the log, not released on chain; escrow still open for an ended job; ...). */
  jobsLogChainMismatch: number;
  /** Not ended, past its deadline plus the grace. */
  jobsStuck: number;
  /** Not ended, within its deadline plus grace when the run's time ran out (the run was too short to tell). */
  jobsUnfinished: number;
  /** Requests that never got an answer (only 5xx and timeouts until the client gave up). */
  submissionsUnanswered: number;
  faucetUnanswered: number;
  /** |supply after - supply before - mints answered| + |escrow balance - what open contracts hold| (decimal wei). */
  tokensCreatedOrLostWei: string;
}

export const COUNT_NAMES = [
  'jobsLost',
  'submissionsWithoutJob',
  'jobsDuplicated',
  'jobsEndedTwice',
  'jobsLogChainMismatch',
  'jobsStuck',
  'jobsUnfinished',
  'submissionsUnanswered',
  'faucetUnanswered',
  'tokensCreatedOrLostWei',
] as const satisfies readonly (keyof ChaosCounts)[];

/** The counts of a run in which nothing went astray: what every run must print. */
export const NO_FAULTS: Readonly<ChaosCounts> = Object.freeze({
  jobsLost: 0,
  submissionsWithoutJob: 0,
  jobsDuplicated: 0,
  jobsEndedTwice: 0,
  jobsLogChainMismatch: 0,
  jobsStuck: 0,
  jobsUnfinished: 0,
  submissionsUnanswered: 0,
  faucetUnanswered: 0,
  tokensCreatedOrLostWei: '0',
});

const abs = (x: bigint): bigint => (x < 0n ? -x : x);

/** Whether the log has ended the job (settled, refunded, cancelled, failed, or a chain effect recorded lost). */
export const endedOnLog = (j: LogJob): boolean => j.released + j.refunded + j.cancelled + j.failed + j.chainEffectLost > 0;

/** Whether the log's end and the chain's state of one job agree. */
export function logAgreesWithChain(log: LogJob | undefined, chain: ChainJob | undefined): boolean {
  const status = chain?.status ?? 'none';
  if (!log) return status === 'none';
  if (log.released > 0 && status !== 'released') return false; // "settled" with no release on chain
  if (log.refunded > 0 && log.refundOnChain && status !== 'refunded') return false;
  if (status === 'released' && log.released === 0) return false; // paid on chain, the log does not know
  if (status === 'refunded' && log.refunded === 0 && log.chainEffectLost === 0) return false;
  if ((status === 'open' || status === 'disputed') && endedOnLog(log)) return false; // escrow held for an ended job
  return true;
}

export function countFaults(o: Observations): ChaosCounts {
  const answered = new Set<string>();
  let submissionsWithoutJob = 0;
  let jobsLost = 0;
  let jobsDuplicated = 0;
  let submissionsUnanswered = 0;
  for (const s of o.submissions) {
    if (s.unanswered && s.acceptedJobIds.length === 0) submissionsUnanswered += 1;
    const ids = [...new Set(s.acceptedJobIds)];
    if (ids.length > 1) jobsDuplicated += ids.length - 1;
    for (const id of ids) {
      answered.add(id);
      const log = o.logJobs.get(id);
      if (!log || log.submitted === 0) submissionsWithoutJob += 1;
      else if (o.apiVisible.get(id) !== true) jobsLost += 1;
    }
  }

  let jobsEndedTwice = 0;
  let jobsLogChainMismatch = 0;
  let jobsStuck = 0;
  let jobsUnfinished = 0;
  for (const job of o.logJobs.values()) {
    if (!o.orgIds.has(job.orgId)) continue;
    if (job.submitted > 1) jobsDuplicated += job.submitted - 1;
    if (!answered.has(job.jobId)) jobsDuplicated += 1;
    const chain = o.chainJobs.get(job.jobId);
    if (job.released + job.refunded > 1 || (chain && chain.releasedEvents + chain.refundedEvents > 1)) jobsEndedTwice += 1;
    if (!logAgreesWithChain(job, chain)) jobsLogChainMismatch += 1;
    if (!endedOnLog(job)) {
      if (o.nowUnixSec > job.deadlineUnixSec + o.graceSec) jobsStuck += 1;
      else jobsUnfinished += 1;
    }
  }
  // a contract on chain for a job the log never had
  for (const [jobId, chain] of o.chainJobs) if (!o.logJobs.has(jobId) && !logAgreesWithChain(undefined, chain)) jobsLogChainMismatch += 1;

  let heldByOpenWei = 0n;
  for (const chain of o.chainJobs.values()) if (chain.status === 'open' || chain.status === 'disputed') heldByOpenWei += chain.costWei;
  const createdWei = o.tokensAfter.supplyWei - o.tokensBefore.supplyWei - o.mintsAnsweredWei;
  const escrowExcessWei = o.tokensAfter.escrowWei - o.tokensBefore.escrowWei - heldByOpenWei;
  return {
    jobsLost,
    submissionsWithoutJob,
    jobsDuplicated,
    jobsEndedTwice,
    jobsLogChainMismatch,
    jobsStuck,
    jobsUnfinished,
    submissionsUnanswered,
    faucetUnanswered: o.faucetUnanswered,
    tokensCreatedOrLostWei: (abs(createdWei) + abs(escrowExcessWei)).toString(),
  };
}

/** Whether every count is 0. */
export const allZero = (c: ChaosCounts): boolean => COUNT_NAMES.every((k) => (k === 'tokensCreatedOrLostWei' ? c[k] === '0' : c[k] === 0));
