/**
 * The README's code, type-checked: every ```ts block of libs/sdk/README.md and the SDK snippet of
 * the repository's README.md, copied here verbatim (only their imports gathered at the top, and
 * each block wrapped in a function: the repo compiles CommonJS, which has no top-level await). The
 * repo's `tsc` checks this file; libs/sdk/src/readme.spec.ts fails when a README block is missing
 * here (so a changed example is checked too) and compiles this file on its own. Never run.
 */
/* eslint-disable @typescript-eslint/no-unused-vars -- examples bind what they show, and nothing calls them */
// the package's names, as a user imports it (within the SDK the boundary rule wants relative imports)
// eslint-disable-next-line @nx/enforce-module-boundaries
import { createClient, formatAgpu, parseAgpu, StarMinerApiError, verifyWebhookSignature, WEBHOOK_HEADERS, type WebhookDelivery } from '@starminer/sdk';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { createProviderClient } from '@starminer/sdk/provider';
import { privateKeyToAccount } from 'viem/accounts';

// what the examples take as given
declare const baseUrl: string;
declare const apiKey: string;
declare const operatorToken: string;
declare const nodeKey: `0x${string}`;
declare const nodeId: string;
declare const output: string;
declare const resultHash: string;
declare const proofHash: string;
declare const signature: string;

// libs/sdk/README.md, "A requester's flow", and the blocks that go on from its `sm`, `job` and `jobId`
export async function requesterFlow(): Promise<void> {
  const sm = createClient({ baseUrl: 'https://gateway.example.com', apiKey: process.env.STARMINER_API_KEY });

  const job = {
    category: 'inference',
    budgetWei: parseAgpu('50'), // at most 50 AGPU; bigints are sent as decimal strings
    urgency: 'normal',
    latencyPreference: 'normal',
    requirements: { gpuModels: ['H100'], gpuCount: 1, minVramGiB: 80, tee: false, regions: ['eu-west'] },
    expectedRuntimeSec: 600,
    workload: { kind: 'hash-chain', seed: 'my-run', iterations: 100_000 },
  } as const;

  const { jobId } = await sm.submitJob({ job }); // 202: queued
  const done = await sm.waitForJob({ jobId }); // resolves at a final status (default), or throws JobWaitError
  console.log(done.status, formatAgpu(done.costWei ?? '0'), 'AGPU', done.txHashes.settle);

  const account = await sm.getAccount();
  console.log(`${formatAgpu(account.balanceWei)} AGPU left`);

  async function operator(): Promise<void> {
    const org = await createClient({ baseUrl }).createOrg({ operatorToken, name: 'Acme' });
    await createClient({ baseUrl, apiKey: org.apiKey }).faucet({ amountWei: parseAgpu('1000') }); // dev mode only
  }

  async function quoteBeforeSubmit(): Promise<void> {
    const quote = await sm.createQuote({ job });
    if (quote.feasible) console.log(formatAgpu(quote.price!.costWei), 'AGPU, wait', quote.expectedWaitSec, 's');
    else console.log(quote.reasons, quote.nearest);
  }

  async function liveStatus(): Promise<void> {
    for await (const u of sm.watchJob({ jobId })) {
      console.log(u.seq, u.type, u.status, u.waitingReason ?? '', u.txHash ?? '');
    }
  }

  async function webhooks(): Promise<void> {
    const hook = await sm.createWebhook({ url: 'https://example.com/starminer', description: 'job updates' });
    // hook.secret (whsec_...) is shown only in this answer: store it with the receiver
  }

  async function pages(): Promise<void> {
    const page = await sm.listJobs({ limit: 20 }); // { jobs, nextCursor }
    for await (const job of sm.jobs({ pageSize: 100 })) console.log(job.jobId, job.status);

    for await (const node of sm.nodes({ filter: 'gpu=H100 vram>=80 region in [eu-west,us-east] reputation>0.9' })) {
      console.log(node.nodeId, node.gpuModel, node.region);
    }
    const board = await sm.getPrices({ gpuModel: 'H100', region: 'eu-west' });
    const queues = await sm.getQueues();
  }

  async function errors(): Promise<void> {
    try {
      await sm.submitJob({ job });
    } catch (err) {
      if (err instanceof StarMinerApiError && err.code === 'INSUFFICIENT_FUNDS') console.log('top up first');
      else throw err;
    }
  }

  function retries(): void {
    const sm = createClient({ baseUrl, apiKey, timeoutMs: 10_000, retry: { maxAttempts: 5, maxDelayMs: 20_000 } });
  }

  async function cancelling(): Promise<void> {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 60_000);
    for await (const u of sm.watchJob({ jobId, signal: controller.signal })) console.log(u.type);

    await sm.getJob({ jobId, signal: AbortSignal.timeout(5_000) });
    await sm.cancelJob({ jobId }); // a queued job only: JOB_NOT_CANCELLABLE / JOB_ALREADY_FINAL otherwise
  }

  // libs/sdk/README.md, "The provider entry" (its `jobId` is the requester's job here)
  async function provider(): Promise<void> {
    const p = createProviderClient({ baseUrl: 'https://gateway.example.com', account: privateKeyToAccount(nodeKey), chainId: 31337 });
    await p.registerNode({ registration: { nodeId, providerId: 'acme', gpuModel: 'H100', gpuCount: 8, vramGiB: 80, region: 'eu-west', latencyMs: 12, tee: false, energy: { carbonGPerKwh: 120, renewableShare: 0.6 }, benchmark: { kind: 'hash-chain-sha256', score: 1_000_000, measuredAt: new Date().toISOString() }, stakeWei: '0', runtimes: ['hash-chain', 'matmul'] } });
    await p.heartbeat({ nodeId });
    // a long poll: answers as soon as a contract opens for the node (or after waitMs); it counts as a heartbeat
    const { assignments } = await p.getAssignments({ nodeId, waitMs: 8_000 });
    await p.startJob({ nodeId, jobId: assignments[0].jobId });
    await p.submitResult({ nodeId, jobId, result: { output, resultHash, proofHash, signature } });
    const status = await p.getNodeStatus({ nodeId });
    const earnings = await p.getEarnings({ nodeId, limit: 50 });
  }
}

// libs/sdk/README.md, "Webhooks": the receiver

// e.g. in a fetch-style handler (Cloudflare Workers, Deno, Bun, Next.js route handlers)
export async function POST(req: Request): Promise<Response> {
  const body = await req.text();
  const ok = await verifyWebhookSignature({ secret: process.env.STARMINER_WEBHOOK_SECRET!, body, signatureHeader: req.headers.get(WEBHOOK_HEADERS.signature) });
  if (!ok) return new Response('bad signature', { status: 401 });
  const delivery = JSON.parse(body) as WebhookDelivery;
  console.log(delivery.event.type, delivery.event.jobId);
  return new Response(null, { status: 204 });
}

// README.md (the repository's), "From code, the same through the SDK"
export async function repositoryReadme(): Promise<void> {
  const sm = createClient({ baseUrl: 'http://127.0.0.1:8080', apiKey: process.env.STARMINER_API_KEY });
  const job = { category: 'inference', budgetWei: parseAgpu('50').toString(), urgency: 'normal', latencyPreference: 'normal',
    requirements: { gpuModels: [], gpuCount: 1, minVramGiB: 8, tee: false, regions: [] },
    expectedRuntimeSec: 60, workload: { kind: 'hash-chain', seed: 'sdk', iterations: 100_000 } } as const;
  console.log(await sm.createQuote({ job }));
  const { jobId } = await sm.submitJob({ job });
  for await (const update of sm.watchJob({ jobId })) console.log(update.type, update.status);
}
