import { JobWaitError } from './errors';
import { anySignal, realSleep, send, type HeaderMap, type RequestSpec, type TransportOptions } from './http';
import { newIdempotencyKey } from './ids';
import { SDK_LIMITS } from './limits';
import { pageSizeOf, paginate } from './pages';
import {
  FINAL_JOB_STATUSES,
  isFinalJobStatus,
  type Account,
  type Anchor,
  type AnchorPage,
  type DeliveryLog,
  type FaucetMint,
  type Job,
  type JobAccepted,
  type JobCancelled,
  type JobPage,
  type JobProofs,
  type JobStatus,
  type JobUpdate,
  type JobUpdatePage,
  type MarketStats,
  type Node,
  type NodeDetail,
  type NodePage,
  type OpsStatus,
  type OrgCreated,
  type PriceBoard,
  type PriceCandleIntervalSec,
  type PriceHistory,
  type PriceTier,
  type Queues,
  type Quote,
  type RedeliveryAccepted,
  type SubmitJobRequest,
  type TopUp,
  type Vault,
  type VaultCreated,
  type VaultFired,
  type VaultPage,
  type VaultTriggerRequest,
  type WebhookCreated,
  type WebhookList,
} from './types';
import { jobStatusRank, watchJob, type WatchJobParams } from './watch';
import { signVaultTrigger, VAULT_TRIGGER_SIGNATURE_HEADER } from './vaults';

export interface ClientOptions extends TransportOptions {
  /** An org's API key (`sm_...`); createOrg takes the operator token instead, and the price board needs none. */
  apiKey?: string;
}

/** Every call takes one object; each accepts a signal that aborts it (retries and waits included). */
export interface CallOptions {
  signal?: AbortSignal;
}

/** T where every array, at any depth, may also be a readonly one (what `as const` makes): the SDK only reads its inputs. */
type ReadonlyArraysAllowed<T> = T extends readonly (infer U)[] ? readonly ReadonlyArraysAllowed<U>[] : T extends object ? { [K in keyof T]: ReadonlyArraysAllowed<T[K]> } : T;

/**
 * A job's body where amounts may also be bigints (sent as decimal strings) and lists readonly, so
 * a job written `{ ... } as const` is one.
 */
export type JobInput = ReadonlyArraysAllowed<Omit<SubmitJobRequest, 'budgetWei'>> & { budgetWei: string | bigint };

/** A vault's body where amounts may also be bigints and lists readonly (see JobInput). */
export interface VaultInput {
  depositWei: string | bigint;
  capPerPeriodWei: string | bigint;
  periodSec: number;
  template: JobInput;
  triggers: readonly ReadonlyArraysAllowed<VaultTriggerRequest>[];
}

export interface PageParams extends CallOptions {
  limit?: number;
  cursor?: string;
}

/**
 * A requester's client of the gateway's v1 API (`createClient`). Browser-safe: fetch, AbortSignal
 * and WebCrypto only. Reads, and writes that carry an Idempotency-Key (submitJob and faucet always
 * do: the SDK makes one when the caller gives none), are retried on 429, 503 and network errors;
 * other writes are sent once.
 */
export class StarMinerClient {
  private readonly transport: TransportOptions;
  constructor(private readonly opts: ClientOptions) {
    if (typeof opts?.baseUrl !== 'string' || !/^https?:\/\//i.test(opts.baseUrl)) throw new TypeError(`createClient needs baseUrl, an http(s) URL, got ${JSON.stringify(opts?.baseUrl)}`);
    this.transport = opts;
  }

  get baseUrl(): string {
    return this.opts.baseUrl;
  }

  /** POST /v1/orgs with the operator token: a new org, its API key (shown once) and its custodial account. Sent once. */
  createOrg(p: { operatorToken: string; name: string } & CallOptions): Promise<OrgCreated> {
    return this.call({ method: 'POST', path: '/v1/orgs', body: { name: p.name }, headers: { authorization: `Bearer ${p.operatorToken}` }, retry: false, signal: p.signal });
  }

  /** GET /v1/accounts/me: the caller org and its on-chain AGPU balance. */
  getAccount(p: CallOptions = {}): Promise<Account> {
    return this.read('/v1/accounts/me', p);
  }

  /** POST /v1/dev/faucet (dev mode only): mints AGPU to the caller org's account; a retry mints nothing more. */
  faucet(p: { amountWei: bigint | string; idempotencyKey?: string } & CallOptions): Promise<FaucetMint> {
    return this.write('/v1/dev/faucet', { amountWei: p.amountWei.toString() }, p.idempotencyKey ?? newIdempotencyKey(), p.signal);
  }

  /**
   * POST /v1/quotes: what the market would do with this job now (price, markets, expected wait, or
   * why nothing fits and the nearest option), without submitting it. A quote is not a promise.
   */
  createQuote(p: { job: JobInput } & CallOptions): Promise<Quote> {
    // a quote changes nothing, so sending it again is safe
    return this.call({ method: 'POST', path: '/v1/quotes', body: p.job, retry: true, signal: p.signal });
  }

  /**
   * POST /v1/jobs: 202 `{ jobId, status: 'queued' }`. The Idempotency-Key (the caller's, else one
   * made here) makes a repeat answer the first job instead of submitting a second.
   */
  submitJob(p: { job: JobInput; idempotencyKey?: string } & CallOptions): Promise<JobAccepted> {
    return this.write('/v1/jobs', p.job, p.idempotencyKey ?? newIdempotencyKey(), p.signal);
  }

  /** GET /v1/jobs/{jobId}: status, node, price terms, contract, transactions, result. */
  getJob(p: { jobId: string } & CallOptions): Promise<Job> {
    return this.read(`/v1/jobs/${segment(p.jobId)}`, p);
  }

  /** POST /v1/jobs/{jobId}/cancel: a queued job only (409 JOB_NOT_CANCELLABLE / JOB_ALREADY_FINAL otherwise). Sent once. */
  cancelJob(p: { jobId: string } & CallOptions): Promise<JobCancelled> {
    return this.call({ method: 'POST', path: `/v1/jobs/${segment(p.jobId)}/cancel`, retry: false, signal: p.signal });
  }

  /**
   * POST /v1/jobs/{jobId}/top-ups: more time before a contracted or running job's deadline, its
   * escrow grown by the match's price for `extraRuntimeSec` and paid by the org (the job's
   * `runwaySec` and a `job.runway-low` update say when one is needed). The Idempotency-Key (the
   * caller's, else one made here) makes a retry answer the same top-up and pay nothing more.
   */
  topUpJob(p: { jobId: string; extraRuntimeSec: number; idempotencyKey?: string } & CallOptions): Promise<TopUp> {
    return this.write(`/v1/jobs/${segment(p.jobId)}/top-ups`, { extraRuntimeSec: p.extraRuntimeSec }, p.idempotencyKey ?? newIdempotencyKey(), p.signal);
  }

  /** GET /v1/jobs: one page of the org's jobs. */
  listJobs(p: PageParams = {}): Promise<JobPage> {
    return this.read('/v1/jobs', p, { limit: p.limit, cursor: p.cursor });
  }

  /** Every job of the org, page by page as the loop asks (`for await (const job of sm.jobs())`). */
  jobs(p: { pageSize?: number } & CallOptions = {}): AsyncIterable<Job> {
    const limit = pageSizeOf(p.pageSize);
    return paginate(
      (cursor) => this.listJobs({ limit, cursor, signal: p.signal }),
      (page) => page.jobs,
    );
  }

  /**
   * GET /v1/jobs/{jobId}/proofs: the job's events as the trade log stores them, each with its
   * Merkle proof in the anchor on chain that covers it (null until one does). Check one with
   * @openzeppelin/merkle-tree: `StandardMerkleTree.verify(e.anchor.root, proofs.leafEncoding, [e.seq, e.eventHash], e.proof)`,
   * and that eventHash is keccak256 of the UTF-8 bytes of `e.message`.
   */
  getJobProofs(p: { jobId: string } & CallOptions): Promise<JobProofs> {
    return this.read(`/v1/jobs/${segment(p.jobId)}/proofs`, p);
  }

  /** GET /v1/jobs/{jobId}/history, every page: the job's updates so far, in order. */
  async getJobHistory(p: { jobId: string } & CallOptions): Promise<JobUpdate[]> {
    const updates: JobUpdate[] = [];
    const pages = paginate(
      (cursor) => this.read<JobUpdatePage>(`/v1/jobs/${segment(p.jobId)}/history`, p, { limit: SDK_LIMITS.pageSizeMax, cursor }),
      (page) => page.updates,
    );
    for await (const u of pages) {
      if (updates.length >= SDK_LIMITS.historyUpdatesMax) throw new Error(`job ${p.jobId} has more than ${SDK_LIMITS.historyUpdatesMax} updates`);
      updates.push(u);
    }
    return updates;
  }

  /**
   * The job's updates as they happen (Server-Sent Events), resuming after a drop, falling back to
   * polling where the gateway has no event stream; ends after a final status. See watch.ts.
   */
  watchJob(p: WatchJobParams): AsyncIterable<JobUpdate> {
    return watchJob({ transport: this.transport, headers: () => this.keyHeader(), getJob: (q) => this.getJob(q) }, p);
  }

  /**
   * Resolves with the job once it reaches one of `statuses` (default: any final status), read
   * after that update, and only with a job in one of them: a job that has moved past a wanted
   * status that is not final is waited on. Rejects with JobWaitError `JOB_ENDED` when it ends in
   * another status, `WAIT_TIMEOUT` after `timeoutMs` (default 10 minutes, at most 30).
   */
  async waitForJob(p: { jobId: string; statuses?: readonly JobStatus[]; timeoutMs?: number } & CallOptions): Promise<Job> {
    const statuses: readonly string[] = p.statuses ?? FINAL_JOB_STATUSES;
    const timeoutMs = Math.min(Math.max(p.timeoutMs ?? SDK_LIMITS.waitTimeoutMsDefault, 0), SDK_LIMITS.waitTimeoutMsMax);
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error('wait timed out')), timeoutMs);
    const { signal, dispose } = anySignal([p.signal, timeout.signal]);
    const wanted = statuses.join('|');
    let lastJob: Job | undefined;
    const ended = (job: Job): JobWaitError => new JobWaitError('JOB_ENDED', `job ${p.jobId} ended ${job.status}, not ${wanted}`, job);
    try {
      lastJob = await this.getJob({ jobId: p.jobId, signal });
      if (statuses.includes(lastJob.status)) return lastJob;
      if (isFinalJobStatus(lastJob.status)) throw ended(lastJob);
      // where the job stood when last read: the stream starts with its whole past, and an update
      // ranked below it is a replay of a status the job has left (no read, no resolving on it)
      let reached = jobStatusRank(lastJob.status);
      for await (const update of this.watchJob({ jobId: p.jobId, signal })) {
        if (jobStatusRank(update.status) < reached) continue;
        if (!statuses.includes(update.status) && !isFinalJobStatus(update.status)) continue;
        lastJob = await this.viewAfter(update, signal);
        reached = Math.max(reached, jobStatusRank(lastJob.status));
        if (statuses.includes(lastJob.status)) return lastJob;
        if (isFinalJobStatus(lastJob.status)) throw ended(lastJob);
        // the job has already moved past the wanted status it reached: wait on (for another wanted status, or its end)
      }
      throw new Error(`the updates of job ${p.jobId} ended before a final status`);
    } catch (err) {
      if (timeout.signal.aborted && !p.signal?.aborted) {
        throw new JobWaitError('WAIT_TIMEOUT', `job ${p.jobId} is still ${lastJob?.status ?? 'unread'} after ${timeoutMs} ms (wanted ${wanted})`, lastJob);
      }
      throw err;
    } finally {
      clearTimeout(timer);
      dispose();
    }
  }

  /** GET /v1/nodes: one page of the supply, filtered (`'gpu=H100 vram>=80 region in [eu-west,us-east] reputation>0.9'`). */
  listNodes(p: { filter?: string } & PageParams = {}): Promise<NodePage> {
    return this.read('/v1/nodes', p, { filter: p.filter, limit: p.limit, cursor: p.cursor });
  }

  /** Every node matching `filter`, page by page. */
  nodes(p: { filter?: string; pageSize?: number } & CallOptions = {}): AsyncIterable<Node> {
    const limit = pageSizeOf(p.pageSize);
    return paginate(
      (cursor) => this.listNodes({ filter: p.filter, limit, cursor, signal: p.signal }),
      (page) => page.nodes,
    );
  }

  /** GET /v1/nodes/{nodeId}: one node of the supply, with its live GPU telemetry (null when it sent none). */
  getNode(p: { nodeId: string } & CallOptions): Promise<NodeDetail> {
    return this.read(`/v1/nodes/${segment(p.nodeId)}`, p);
  }

  /** GET /v1/market/prices: per (GPU model, region) market, a GPU-hour's price per tier with its terms. */
  getPrices(p: { gpuModel?: string; region?: string } & PageParams = {}): Promise<PriceBoard> {
    return this.read('/v1/market/prices', p, { gpuModel: p.gpuModel, region: p.region, limit: p.limit, cursor: p.cursor });
  }

  /** GET /v1/market/queues: jobs waiting per category. */
  getQueues(p: CallOptions = {}): Promise<Queues> {
    return this.read('/v1/market/queues', p);
  }

  /**
   * GET /v1/market/prices/history: one market's price of a GPU-hour in a tier (default standard)
   * as candles of `intervalSec` (60, 300, 3600 or 86400; default 60), oldest first, from `from`
   * to `to` (default: the last 1,000 candles up to now). A window of more than 1,000 candles is a
   * 400 VALIDATION_FAILED naming query.from; a market with no price move has no candles.
   */
  getPriceHistory(p: { gpuModel: string; region: string; tier?: PriceTier; intervalSec?: PriceCandleIntervalSec; from?: Date | string; to?: Date | string } & CallOptions): Promise<PriceHistory> {
    return this.read('/v1/market/prices/history', p, { gpuModel: p.gpuModel, region: p.region, tier: p.tier, intervalSec: p.intervalSec, from: instantOf(p.from), to: instantOf(p.to) });
  }

  /** GET /v1/market/stats: supply per market, matches per second over the last minute, queued jobs per category. */
  getMarketStats(p: CallOptions = {}): Promise<MarketStats> {
    return this.read('/v1/market/stats', p);
  }

  /**
   * GET /v1/anchors: one page of the trade log's anchors on chain, newest first, each with onChain
   * (verified, mismatch or missing: the log's range and root against the anchor contract's).
   */
  listAnchors(p: PageParams = {}): Promise<AnchorPage> {
    return this.read('/v1/anchors', p, { limit: p.limit, cursor: p.cursor });
  }

  /** Every anchor, newest first, page by page as the loop asks (`for await (const a of sm.anchors())`). */
  anchors(p: { pageSize?: number } & CallOptions = {}): AsyncIterable<Anchor> {
    const limit = pageSizeOf(p.pageSize);
    return paginate(
      (cursor) => this.listAnchors({ limit, cursor, signal: p.signal }),
      (page) => page.anchors,
    );
  }

  /**
   * GET /v1/ops/status with the operator token: every service's readiness and readers (a service
   * that does not answer in time is listed with ready false and its error), the log's head, the
   * chain and its latest anchor, stuck jobs, and `overall` (healthy or degraded). A read: retried.
   */
  getOpsStatus(p: { operatorToken: string } & CallOptions): Promise<OpsStatus> {
    return this.call({ method: 'GET', path: '/v1/ops/status', headers: { authorization: `Bearer ${p.operatorToken}` }, retry: true, signal: p.signal });
  }

  /**
   * POST /v1/vaults: a deposit from the org's account, a cap per period, the job it fires and its
   * triggers. The answer holds the secret of its trigger URLs, this once (keep it: fireVaultTrigger
   * signs with it). The Idempotency-Key (the caller's, else one made here) makes a retry answer the
   * first vault.
   */
  createVault(p: { vault: VaultInput; idempotencyKey?: string } & CallOptions): Promise<VaultCreated> {
    const v = p.vault;
    const body = {
      ...v,
      depositWei: v.depositWei.toString(),
      capPerPeriodWei: v.capPerPeriodWei.toString(),
      template: { ...v.template, budgetWei: v.template.budgetWei.toString() },
      triggers: v.triggers.map((t) => (t.kind === 'price' ? { ...t, belowWeiPerHour: t.belowWeiPerHour.toString() } : t)),
    };
    return this.write('/v1/vaults', body, p.idempotencyKey ?? newIdempotencyKey(), p.signal);
  }

  /** GET /v1/vaults: one page of the org's vaults. */
  listVaults(p: PageParams = {}): Promise<VaultPage> {
    return this.read('/v1/vaults', p, { limit: p.limit, cursor: p.cursor });
  }

  /** GET /v1/vaults/{vaultId}: its balance, the period's spending, its triggers and newest firings with their jobs. */
  getVault(p: { vaultId: string } & CallOptions): Promise<Vault> {
    return this.read(`/v1/vaults/${segment(p.vaultId)}`, p);
  }

  /** POST /v1/vaults/{vaultId}/template: firings from now on submit this job. */
  editVaultTemplate(p: { vaultId: string; template: JobInput; idempotencyKey?: string } & CallOptions): Promise<Vault> {
    const template = { ...p.template, budgetWei: p.template.budgetWei.toString() };
    return this.write(`/v1/vaults/${segment(p.vaultId)}/template`, { template }, p.idempotencyKey ?? newIdempotencyKey(), p.signal);
  }

  /** POST /v1/vaults/{vaultId}/pause: nothing fires until it is resumed (a paused vault answers as it is). */
  pauseVault(p: { vaultId: string; idempotencyKey?: string } & CallOptions): Promise<Vault> {
    return this.write(`/v1/vaults/${segment(p.vaultId)}/pause`, undefined, p.idempotencyKey ?? newIdempotencyKey(), p.signal);
  }

  /** POST /v1/vaults/{vaultId}/resume. */
  resumeVault(p: { vaultId: string; idempotencyKey?: string } & CallOptions): Promise<Vault> {
    return this.write(`/v1/vaults/${segment(p.vaultId)}/resume`, undefined, p.idempotencyKey ?? newIdempotencyKey(), p.signal);
  }

  /** POST /v1/vaults/{vaultId}/close: for good; the remainder goes back to the org's account. */
  closeVault(p: { vaultId: string; idempotencyKey?: string } & CallOptions): Promise<Vault> {
    return this.write(`/v1/vaults/${segment(p.vaultId)}/close`, undefined, p.idempotencyKey ?? newIdempotencyKey(), p.signal);
  }

  /**
   * POST /v1/vault-triggers/{vaultId}/{triggerId}: calls a vault's URL trigger, signed with its
   * secret (no API key needed). The Idempotency-Key names the firing: the same key again answers
   * the same firing and job (the caller's, else one made here: pass your own to retry safely).
   */
  fireVaultTrigger(p: { vaultId: string; triggerId: string; secret: string; body?: Record<string, unknown>; idempotencyKey?: string } & CallOptions): Promise<VaultFired> {
    const key = p.idempotencyKey ?? newIdempotencyKey();
    return send(this.transport, {
      method: 'POST',
      path: `/v1/vault-triggers/${segment(p.vaultId)}/${segment(p.triggerId)}`,
      body: p.body ?? {},
      // signed per attempt over what is sent, with its own time; the key makes every attempt the same firing
      headers: async (sent) => ({ 'idempotency-key': key, [VAULT_TRIGGER_SIGNATURE_HEADER]: await signVaultTrigger({ secret: p.secret, body: sent.rawBody ?? '' }) }),
      retry: true,
      signal: p.signal,
    }) as Promise<VaultFired>;
  }

  /** POST /v1/webhooks: its secret is in this answer only (keep it: verifyWebhookSignature needs it). Sent once. */
  createWebhook(p: { url: string; description?: string } & CallOptions): Promise<WebhookCreated> {
    return this.call({ method: 'POST', path: '/v1/webhooks', body: { url: p.url, ...(p.description !== undefined ? { description: p.description } : {}) }, retry: false, signal: p.signal });
  }

  /** GET /v1/webhooks: the org's webhooks (without their secrets). */
  listWebhooks(p: CallOptions = {}): Promise<WebhookList> {
    return this.read('/v1/webhooks', p);
  }

  /** DELETE /v1/webhooks/{webhookId}: no more deliveries to it. Sent once. */
  deleteWebhook(p: { webhookId: string } & CallOptions): Promise<void> {
    // not retried: a retry after a delete whose answer was lost would answer 404 WEBHOOK_NOT_FOUND
    // and report a done delete as an error
    return this.call({ method: 'DELETE', path: `/v1/webhooks/${segment(p.webhookId)}`, retry: false, signal: p.signal });
  }

  /** GET /v1/webhooks/{webhookId}/deliveries: one page of its delivery log, newest first, each with its attempts. */
  listWebhookDeliveries(p: { webhookId: string } & PageParams): Promise<DeliveryLog> {
    return this.read(`/v1/webhooks/${segment(p.webhookId)}/deliveries`, p, { limit: p.limit, cursor: p.cursor });
  }

  /** POST /v1/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver: one more attempt now. Sent once. */
  redeliverWebhook(p: { webhookId: string; deliveryId: string } & CallOptions): Promise<RedeliveryAccepted> {
    return this.call({ method: 'POST', path: `/v1/webhooks/${segment(p.webhookId)}/deliveries/${segment(p.deliveryId)}/redeliver`, retry: false, signal: p.signal });
  }

  /**
   * The job as its view has it after `update`: read again while the view is behind the stream (its
   * status ranked below the update's), quickly at first, then at the polling interval, until the
   * view catches up or `signal` (the wait's timeout) ends it.
   */
  private async viewAfter(update: JobUpdate, signal: AbortSignal): Promise<Job> {
    const sleep = this.opts.sleep ?? realSleep;
    const target = jobStatusRank(update.status);
    let job = await this.getJob({ jobId: update.jobId, signal });
    for (let reads = 1; jobStatusRank(job.status) < target; reads += 1) {
      await sleep(reads < SDK_LIMITS.waitViewReadsMax ? SDK_LIMITS.waitViewReadDelayMs : SDK_LIMITS.watchPollIntervalMsDefault, signal);
      job = await this.getJob({ jobId: update.jobId, signal });
    }
    return job;
  }

  private keyHeader(): HeaderMap {
    return this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {};
  }

  private read<T>(path: string, p: CallOptions, query?: RequestSpec['query']): Promise<T> {
    return this.call({ method: 'GET', path, query, retry: true, signal: p.signal });
  }

  private write<T>(path: string, body: unknown, idempotencyKey: string, signal: AbortSignal | undefined): Promise<T> {
    return this.call({ method: 'POST', path, body, headers: { 'idempotency-key': idempotencyKey }, retry: true, signal });
  }

  private async call<T>(spec: RequestSpec): Promise<T> {
    const headers = { ...this.keyHeader(), ...(spec.headers as HeaderMap | undefined) };
    return (await send(this.transport, { ...spec, headers })) as T;
  }
}

/** An instant as sent in a query: ISO 8601 (a Date as its toISOString). */
const instantOf = (t: Date | string | undefined): string | undefined => (t instanceof Date ? t.toISOString() : t);

/** A path segment as sent: an id with `/` or `?` in it cannot reach another route. */
const segment = (id: string): string => encodeURIComponent(id);

/** A client of the gateway for a requester (or an operator creating orgs). */
export function createClient(opts: ClientOptions): StarMinerClient {
  return new StarMinerClient(opts);
}
