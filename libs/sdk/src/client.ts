import { callJson, type FetchLike } from './http';
import { FINAL_JOB_STATUSES, type Account, type FaucetResponse, type Job, type JobList, type JobStatus, type NodeList, type Org, type PriceBoard, type Queues, type SubmitJobRequest } from './types';

/** How often waitForJob asks for the job's status. */
export const WAIT_POLL_INTERVAL_MS = 250;
/** waitForJob never waits longer than this, whatever it is asked. */
export const WAIT_TIMEOUT_MS_MAX = 30 * 60_000;

export class JobWaitError extends Error {
  override readonly name = 'JobWaitError';
  constructor(
    readonly code: 'WAIT_TIMEOUT' | 'JOB_ENDED',
    message: string,
    readonly lastJob: Job | undefined,
  ) {
    super(message);
  }
}

export interface StarMinerClientOptions {
  baseUrl: string;
  /** An org's API key (`sm_...`); not needed for createOrg, which takes the operator token. */
  apiKey?: string;
  fetch?: FetchLike;
  timeoutMs?: number;
  /** For waitForJob; tests pass a fake. */
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A requester's typed client of the gateway's v1 API. */
export class StarMinerClient {
  private readonly sleep: (ms: number) => Promise<void>;
  constructor(private readonly opts: StarMinerClientOptions) {
    this.sleep = opts.sleep ?? realSleep;
  }

  /** The same client acting for another org. */
  withApiKey(apiKey: string): StarMinerClient {
    return new StarMinerClient({ ...this.opts, apiKey });
  }

  /** POST /v1/orgs with the operator token: a new org, its API key and on-chain account. */
  async createOrg(operatorToken: string, name: string): Promise<Org> {
    return this.post<Org>('/v1/orgs', { name }, { authorization: `Bearer ${operatorToken}` });
  }

  /** POST /v1/dev/faucet (dev mode only): mint AGPU to the caller org's account. */
  async faucet(amountWei: bigint | string): Promise<FaucetResponse> {
    return this.post<FaucetResponse>('/v1/dev/faucet', { amountWei: amountWei.toString() }, this.auth());
  }

  async account(): Promise<Account> {
    return this.get<Account>('/v1/accounts/me');
  }

  /** POST /v1/jobs; with an idempotency key the gateway answers a repeat with the first answer. */
  async submitJob(job: SubmitJobRequest, idempotencyKey?: string): Promise<{ jobId: string; status: JobStatus }> {
    const headers = { ...this.auth(), ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) };
    return this.post('/v1/jobs', job, headers);
  }

  async getJob(jobId: string): Promise<Job> {
    return this.get<Job>(`/v1/jobs/${encodeURIComponent(jobId)}`);
  }

  async listJobs(page: { limit?: number; cursor?: string } = {}): Promise<JobList> {
    return this.get<JobList>(`/v1/jobs${query(page)}`);
  }

  async nodes(page: { limit?: number; cursor?: string } = {}): Promise<NodeList> {
    return this.get<NodeList>(`/v1/nodes${query(page)}`);
  }

  async queues(): Promise<Queues> {
    return this.get<Queues>('/v1/market/queues');
  }

  /** The price board: per (GPU class, region), one GPU-hour per tier, with base and multipliers. */
  async prices(filter: { gpuModel?: string; region?: string; limit?: number; cursor?: string } = {}): Promise<PriceBoard> {
    return this.get<PriceBoard>(`/v1/market/prices${query(filter)}`);
  }

  /**
   * Polls the job until its status is one of `statuses`. Throws JobWaitError `JOB_ENDED` when it
   * reaches a final status that is not wanted, and `WAIT_TIMEOUT` after `timeoutMs`.
   */
  async waitForJob(jobId: string, statuses: readonly JobStatus[], timeoutMs: number, now: () => number = Date.now): Promise<Job> {
    const deadline = now() + Math.min(timeoutMs, WAIT_TIMEOUT_MS_MAX);
    let last: Job | undefined;
    for (;;) {
      last = await this.getJob(jobId);
      if (statuses.includes(last.status)) return last;
      if (FINAL_JOB_STATUSES.includes(last.status))
        throw new JobWaitError('JOB_ENDED', `job ${jobId} ended ${last.status}, not ${statuses.join('|')}`, last);
      if (now() >= deadline) throw new JobWaitError('WAIT_TIMEOUT', `job ${jobId} is still ${last.status} after ${timeoutMs} ms (wanted ${statuses.join('|')})`, last);
      await this.sleep(WAIT_POLL_INTERVAL_MS);
    }
  }

  private auth(): Record<string, string> {
    if (!this.opts.apiKey) throw new Error('this call needs an API key: new StarMinerClient({ baseUrl, apiKey })');
    return { authorization: `Bearer ${this.opts.apiKey}` };
  }

  private async get<T>(path: string): Promise<T> {
    const headers = this.opts.apiKey ? this.auth() : {};
    return (await callJson<T>(this.opts.baseUrl, { method: 'GET', path, headers }, this.opts)).body;
  }

  private async post<T>(path: string, body: unknown, headers: Record<string, string>): Promise<T> {
    return (await callJson<T>(this.opts.baseUrl, { method: 'POST', path, headers, rawBody: JSON.stringify(body) }, this.opts)).body;
  }
}

function query(params: Record<string, string | number | undefined>): string {
  const entries = Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined);
  return entries.length === 0 ? '' : `?${new URLSearchParams(entries.map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
}
