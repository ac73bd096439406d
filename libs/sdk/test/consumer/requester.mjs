// A requester's whole flow with the INSTALLED package (ESM), as a user's project runs it:
// libs/sdk/test/pack.spec.ts copies this file into a scratch project outside the repo. Prints one
// JSON line with what it saw; the spec checks it.
/* global AbortSignal */
import { createHmac } from 'node:crypto';
import { createClient, formatAgpu, parseAgpu, StarMinerApiError, verifyWebhookSignature } from '@starminer/sdk';

const { GATEWAY_URL, OPERATOR_TOKEN, GPU_MODEL } = process.env;

const operator = createClient({ baseUrl: GATEWAY_URL });
const org = await operator.createOrg({ operatorToken: OPERATOR_TOKEN, name: 'Packed SDK (ESM)' });
const sm = createClient({ baseUrl: GATEWAY_URL, apiKey: org.apiKey, userAgent: 'starminer-pack-spec', retry: { maxAttempts: 5 } });

await sm.faucet({ amountWei: parseAgpu('1000') });
const account = await sm.getAccount();

const job = {
  category: 'inference',
  budgetWei: parseAgpu('50'),
  urgency: 'normal',
  latencyPreference: 'normal',
  requirements: { gpuModels: [GPU_MODEL], gpuCount: 1, minVramGiB: 8, tee: false, regions: [] },
  expectedRuntimeSec: 60,
  workload: { kind: 'hash-chain', seed: 'packed-sdk', iterations: 2000 },
};
const quote = await sm.createQuote({ job });
const { jobId, status } = await sm.submitJob({ job });

const updates = [];
for await (const u of sm.watchJob({ jobId, signal: AbortSignal.timeout(120_000) })) updates.push(u);
const settled = await sm.getJob({ jobId });
const history = await sm.getJobHistory({ jobId });
const listed = [];
for await (const j of sm.jobs({ pageSize: 1 })) listed.push(j.jobId);

let notFound;
try {
  await sm.getJob({ jobId: 'no-such-job' });
} catch (err) {
  notFound = { isApiError: err instanceof StarMinerApiError, status: err.status, code: err.code };
}

// a webhook signed as the gateway signs (node:crypto) verifies with the SDK's WebCrypto code
const secret = 'whsec_pack-spec';
const body = JSON.stringify({ deliveryId: 'd1', webhookId: 'w1', event: updates.at(-1) });
const t = Math.floor(Date.now() / 1000);
const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
const webhookVerified = await verifyWebhookSignature({ secret, body, signatureHeader: `t=${t},v1=${v1}` });
const webhookForged = await verifyWebhookSignature({ secret, body: body.replace('settled', 'refunded'), signatureHeader: `t=${t},v1=${v1}` });

console.log(
  JSON.stringify({
    balanceWei: account.balanceWei,
    quote: { feasible: quote.feasible, price: quote.price },
    submitted: { jobId, status },
    updates: updates.map((u) => ({ seq: u.seq, type: u.type, status: u.status })),
    history: history.map((u) => u.seq),
    job: { status: settled.status, costWei: settled.costWei, cost: formatAgpu(settled.costWei) },
    listed,
    notFound,
    webhookVerified,
    webhookForged,
  }),
);
