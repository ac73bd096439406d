import { agpuBalance } from '@starminer/chain';
import { COMMANDS, faucetRequestSchema, submitJobRequestSchema } from '@starminer/events';
import { createClient } from '@starminer/sdk';
import { CommandBus, RETRY_AFTER_UNAVAILABLE_SEC, ServiceRuntime } from '@starminer/service-kit';
import { faucetMintCommand, faucetRecordKey } from '../src/faucet/faucet.controller';
import { requestHashOf } from '../src/idempotency/idempotency';
import { IN_PROGRESS_EXPIRY_SEC_DEFAULT } from '../src/idempotency/idempotency-bounds';
import { jobIdFor } from '../src/jobs/job-id';
import { submitJobCommand } from '../src/jobs/jobs.controller';
import { OPERATOR_TOKEN, startMarket, type Market } from './market-harness';

/**
 * Exactly once at the edge (issue 9): a gateway that did its work and crashed before storing its
 * answer leaves its Idempotency-Key's record in progress; a retry meanwhile is told to come back
 * (409 with Retry-After), and once the claim expires a retry takes it over and answers what the
 * first attempt did (the same job, the same mint), never a second job or a second mint. A
 * dependency away answers 503 with Retry-After. On real NATS, Postgres and anvil, with intake and
 * the deployer running.
 */
const AGPU = 10n ** 18n;
const EXPIRY_SEC = IN_PROGRESS_EXPIRY_SEC_DEFAULT;

let market: Market;
let gatewayUrl: string;
/** The command bus of the gateway that crashed: what it sent before it died. */
let bus: CommandBus;
let org: { orgId: string; apiKey: string; accountAddress: `0x${string}` };

beforeAll(async () => {
  market = await startMarket({ services: ['intake', 'deployer'] });
  gatewayUrl = market.gatewayUrl;
  bus = new CommandBus({ servers: market.infra.nats.url, name: 'crashed-gateway' });
  await bus.connect();
  const created = await createClient({ baseUrl: gatewayUrl }).createOrg({ operatorToken: OPERATOR_TOKEN, name: 'Retries' });
  org = { orgId: created.orgId, apiKey: created.apiKey, accountAddress: created.accountAddress as `0x${string}` };
  await createClient({ baseUrl: gatewayUrl, apiKey: org.apiKey }).faucet({ amountWei: 1000n * AGPU });
}, 180_000);

afterAll(async () => {
  await bus?.close();
  await market?.stop();
});

interface Reply {
  status: number;
  retryAfter: string | null;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- answers of several shapes
}

async function send(method: string, path: string, body?: unknown, key?: string): Promise<Reply> {
  const res = await fetch(`${gatewayUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${org.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(key === undefined ? {} : { 'idempotency-key': key }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: text ? JSON.parse(text) : undefined };
}

const job = (seed: string) => ({
  category: 'inference',
  budgetWei: (5n * AGPU).toString(),
  urgency: 'normal',
  latencyPreference: 'normal',
  requirements: { gpuModels: [], gpuCount: 1, minVramGiB: 8, tee: false, regions: [] },
  expectedRuntimeSec: 60,
  workload: { kind: 'hash-chain', seed, iterations: 100 },
});

const gatewayDb = () => market.gateway.get(ServiceRuntime).db;

/**
 * What a gateway that crashed after its work and before its answer leaves behind: the record of
 * `recordKey`, claimed `agoSec` seconds ago, with no answer. (The gateway claims the record
 * before the work; the crash is simulated by writing that claim here, then sending the work's
 * command as that gateway did.)
 */
async function leaveInProgress(recordKey: string, request: unknown, agoSec: number): Promise<void> {
  await gatewayDb().query(
    `INSERT INTO "gateway"."idempotency" ("orgId", "key", "requestHash", "createdAt", "claimedAt")
     VALUES ($1, $2, $3, now() - make_interval(secs => $4), now() - make_interval(secs => $4))`,
    [org.orgId, recordKey, requestHashOf(request), agoSec],
  );
}

/** Time passes for a record: its claim is now `agoSec` old. */
async function ageClaim(recordKey: string, agoSec: number): Promise<void> {
  await gatewayDb().query(`UPDATE "gateway"."idempotency" SET "claimedAt" = now() - make_interval(secs => $3) WHERE "orgId" = $1 AND "key" = $2`, [org.orgId, recordKey, agoSec]);
}

/** The events on the log of `type` whose causation is `causationId`. */
async function eventsCausedBy(type: string, causationId: string): Promise<{ aggregateId: string }[]> {
  const jsm = await market.log.jsm();
  const last = await market.log.lastSeq();
  const found: { aggregateId: string }[] = [];
  for (let seq = 1; seq <= last; seq += 1) {
    const m = await jsm.streams.getMessage(market.log.streamName, { seq });
    const e = JSON.parse(Buffer.from(m!.data).toString('utf8')) as { type: string; causationId: string; aggregateId: string };
    if (e.type === type && e.causationId === causationId) found.push(e);
  }
  return found;
}

const balanceOf = () => agpuBalance(market.chain.publicClient, { token: market.addresses.token, account: org.accountAddress });

describe('a crash between the gateway\'s work and its answer', () => {
  it('a retry with the same key while the first attempt may still be answering gets 409 IDEMPOTENCY_IN_PROGRESS with Retry-After, and appends nothing', async () => {
    const key = 'in-flight-1';
    await leaveInProgress(key, submitJobRequestSchema.parse(job(key)), 0);
    const res = await send('POST', '/v1/jobs', job(key), key);
    expect([res.status, res.body.error.code]).toEqual([409, 'IDEMPOTENCY_IN_PROGRESS']);
    const retryAfterSec = Number(res.retryAfter);
    expect(Number.isInteger(retryAfterSec)).toBe(true);
    expect(retryAfterSec).toBeGreaterThan(0);
    expect(retryAfterSec).toBeLessThanOrEqual(EXPIRY_SEC);
    expect(res.body.error.details.retryAfterSec).toBe(retryAfterSec);
    expect(await eventsCausedBy('JobSubmitted', key)).toEqual([]);
  });

  it('returns the first answer on a retry after the claim expires: 202 with the same job id, and one job', async () => {
    const key = 'crashed-1';
    const body = submitJobRequestSchema.parse(job(key));
    // the first attempt: claimed, sent its command (the job is appended), crashed before storing 202
    await leaveInProgress(key, body, 0);
    const first = await bus.send(COMMANDS.intake.submitJob, submitJobCommand(org.orgId, key, body));
    // before the claim expires the retry is told to wait
    expect((await send('POST', '/v1/jobs', job(key), key)).status).toBe(409);
    await ageClaim(key, EXPIRY_SEC + 1);
    // two retries at once: one takes the claim over, the other is told to wait or finds its answer
    const retries = await Promise.all([send('POST', '/v1/jobs', job(key), key), send('POST', '/v1/jobs', job(key), key)]);
    const accepted = retries.filter((r) => r.status === 202);
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    for (const r of retries) expect([202, 409]).toContain(r.status);
    for (const r of accepted) expect(r.body).toEqual({ jobId: first.jobId, status: 'queued' });
    // and from then on, the stored answer
    const again = await send('POST', '/v1/jobs', job(key), key);
    expect([again.status, again.body]).toEqual([202, { jobId: first.jobId, status: 'queued' }]);
    expect((await eventsCausedBy('JobSubmitted', key)).map((e) => e.aggregateId)).toEqual([first.jobId]);
    expect((await send('GET', `/v1/jobs/${first.jobId}`)).status).toBe(200);
  });

  it('the same key with another request is still refused after a crash (422), and takes nothing over', async () => {
    const key = 'crashed-2';
    await leaveInProgress(key, submitJobRequestSchema.parse(job(key)), EXPIRY_SEC + 1);
    const res = await send('POST', '/v1/jobs', job('another request'), key);
    expect([res.status, res.body.error.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
    expect(await eventsCausedBy('JobSubmitted', key)).toEqual([]);
  });

  it('the faucet: a retry after a crash mid-mint mints once', async () => {
    const key = 'mint-crashed-1';
    const amountWei = 7n * AGPU;
    const body = faucetRequestSchema.parse({ amountWei: amountWei.toString() });
    const before = await balanceOf();
    await leaveInProgress(faucetRecordKey(key), body, 0);
    const first = await bus.send(COMMANDS.deployer.mint, faucetMintCommand(org.orgId, key, body));
    expect(await balanceOf()).toBe(before + amountWei);
    await ageClaim(faucetRecordKey(key), EXPIRY_SEC + 1);
    const retry = await send('POST', '/v1/dev/faucet', { amountWei: amountWei.toString() }, key);
    expect([retry.status, retry.body.txHash]).toEqual([200, first.txHash]);
    const again = await send('POST', '/v1/dev/faucet', { amountWei: amountWei.toString() }, key);
    expect([again.status, again.body]).toEqual([200, retry.body]);
    expect(await balanceOf()).toBe(before + amountWei);
    expect(await eventsCausedBy('AccountFunded', key)).toHaveLength(1);
  });
});

describe('job ids derived from keys are not time-ordered', () => {
  it('the org\'s jobs still list in submission order, page by page, and a cursor naming no job of the org is BAD_CURSOR', async () => {
    const submitted: string[] = [];
    // submitted in the reverse order of their ids, so that id order and submission order differ
    const keys = ['order-a', 'order-b', 'order-c'].sort((a, b) => jobIdFor(org.orgId, b).localeCompare(jobIdFor(org.orgId, a)));
    for (const key of keys) {
      const res = await send('POST', '/v1/jobs', job(key), key);
      expect(res.status).toBe(202);
      submitted.push(res.body.jobId);
    }
    const listed: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Reply = await send('GET', `/v1/jobs?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      listed.push(...page.body.jobs.map((j: { jobId: string }) => j.jobId));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(listed.slice(-submitted.length)).toEqual(submitted);
    expect(new Set(listed).size).toBe(listed.length);
    const bad = await send('GET', '/v1/jobs?cursor=no-such-job');
    expect([bad.status, bad.body.error.code]).toEqual([400, 'BAD_CURSOR']);
  });
});

describe('a dependency away answers 503 with Retry-After', () => {
  it('the chain away: the gateway\'s own read and a service\'s command answer 503 CHAIN_UNAVAILABLE, and a retry runs the work again', async () => {
    await market.anvil.stop();
    const account = await send('GET', '/v1/accounts/me');
    expect([account.status, account.body.error.code, account.retryAfter]).toEqual([503, 'CHAIN_UNAVAILABLE', String(RETRY_AFTER_UNAVAILABLE_SEC)]);
    const key = 'mint-chain-away';
    const mint = await send('POST', '/v1/dev/faucet', { amountWei: '1' }, key);
    expect([mint.status, mint.body.error.code, mint.retryAfter]).toEqual([503, 'CHAIN_UNAVAILABLE', String(RETRY_AFTER_UNAVAILABLE_SEC)]);
    // the mint may have reached the chain: the record stays unanswered, but this attempt gave its
    // claim up, so the client's retry runs the (idempotent) mint again at once instead of a 409
    const retry = await send('POST', '/v1/dev/faucet', { amountWei: '1' }, key);
    expect([retry.status, retry.body.error.code]).toEqual([503, 'CHAIN_UNAVAILABLE']);
    const another = await send('POST', '/v1/dev/faucet', { amountWei: '2' }, key);
    expect([another.status, another.body.error.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
  }, 60_000);

  it('a service away: a command nobody answers is 503 COMMAND_UNAVAILABLE with Retry-After', async () => {
    await market.stopService('deployer');
    const mint = await send('POST', '/v1/dev/faucet', { amountWei: '1' });
    expect([mint.status, mint.body.error.code, mint.retryAfter]).toEqual([503, 'COMMAND_UNAVAILABLE', String(RETRY_AFTER_UNAVAILABLE_SEC)]);
  }, 60_000);
});
