/**
 * The market end to end, on real processes: the stack (own nats-server, own anvil, a fresh
 * database) with every service and two provider agents, driven over HTTP with the SDK, checked
 * against the chain. Slow (a minute or two): the whole stack boots twice. The first boot runs what
 * `npm run build` made (plain `node dist/...`, as the image does), the second runs from source.
 */
import { execFile } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { agpuBalance, createChainClients } from '@starminer/chain';
import { runBuiltInWorkload } from '@starminer/domain';
import { createClient, type Job, type JobStatus, type StarMinerClient, type SubmitJobRequest } from '@starminer/sdk';
import { createTestDatabase, freePort, type TestDatabase } from '@starminer/testing';
import { BUILT_APPS, DIST_DIR, entryOf } from '../build/layout';
import { formatProblems, scanDist } from '../build/scan';
import { CONSOLE_BUILD_DIR } from '../build/console';
import { DEMO_AGENTS, REPO_ROOT, SERVICES, startStack, type Stack, type StackOptions } from './stack';

const STACK_TEST_TIMEOUT_MS = 10 * 60_000;
const SETTLE_TIMEOUT_MS = 4 * 60_000;
const NODES_ONLINE_TIMEOUT_MS = 90_000;
/** `npm run build` from a clean dist/: contracts (up to date here), tsc over the services, tsc-alias, the scan. */
const BUILD_TIMEOUT_MS = 5 * 60_000;
const BUILD_OUTPUT_BYTES_MAX = 16 * 1024 * 1024;
const run = promisify(execFile);

jest.setTimeout(STACK_TEST_TIMEOUT_MS);

interface Harness {
  dataDir: string;
  db: TestDatabase;
  options: StackOptions;
  logFile: string;
  log: WriteStream;
}

async function harness(name: string, opts: { fromDist?: boolean } = {}): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), `starminer-e2e-${name}-`));
  const db = await createTestDatabase();
  const logFile = join(dataDir, 'stack.log');
  const log = createWriteStream(logFile, { flags: 'a' });
  const verbose = process.env.STARMINER_E2E_VERBOSE === '1';
  const options: StackOptions = {
    dataDir,
    fromDist: opts.fromDist ?? false,
    databaseUrl: db.url,
    ports: { nats: await freePort(), postgres: await freePort(), anvil: await freePort(), gateway: await freePort() },
    log: (line) => {
      log.write(`${line}\n`);
      if (verbose) process.stdout.write(`${line}\n`);
    },
  };
  return { dataDir, db, options, logFile, log };
}

async function cleanup(h: Harness | undefined, stack: Stack | undefined, failed: boolean): Promise<void> {
  await stack?.stop();
  if (!h) return;
  await new Promise((r) => h.log.end(r));
  await h.db.drop().catch(() => undefined);
  if (failed) console.error(`e2e: the stack's output is in ${h.logFile}`);
  else rmSync(h.dataDir, { recursive: true, force: true });
}

const job = (seed: string, iterations: number): SubmitJobRequest => ({
  category: 'inference',
  budgetWei: (50n * 10n ** 18n).toString(),
  urgency: 'normal',
  latencyPreference: 'normal',
  requirements: { gpuModels: [], gpuCount: 1, minVramGiB: 0, tee: false, regions: [] },
  expectedRuntimeSec: 60,
  workload: { kind: 'hash-chain', seed, iterations },
});

async function nodesOnline(client: StarMinerClient, count: number): Promise<Map<string, `0x${string}`>> {
  const deadline = Date.now() + NODES_ONLINE_TIMEOUT_MS;
  for (;;) {
    const { nodes } = await client.listNodes();
    const online = nodes.filter((n) => n.online === true);
    if (online.length >= count) return new Map(online.map((n) => [n.nodeId as string, n.nodeAddress as `0x${string}`]));
    if (Date.now() > deadline) throw new Error(`only ${online.length} of ${count} demo nodes came online: ${JSON.stringify(nodes)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function balances(stack: Stack, accounts: readonly `0x${string}`[]): Promise<bigint[]> {
  const { publicClient } = createChainClients(stack.rpcUrl, stack.chainId);
  return Promise.all(accounts.map((account) => agpuBalance(publicClient, { token: stack.addresses.token, account })));
}

/** Polls until the job's status is one of `statuses` (any of them, final or not). */
async function until(client: StarMinerClient, jobId: string, statuses: readonly JobStatus[], timeoutMs: number): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const j = await client.getJob({ jobId });
    if (statuses.includes(j.status)) return j;
    if (Date.now() > deadline) throw new Error(`job ${jobId} is ${j.status} after ${timeoutMs} ms, wanted ${statuses.join('|')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the market end to end (stack: NATS, Postgres, anvil, six services, two agents)', () => {
  describe('from dist/ (npm run build once, then plain node: what the image runs)', () => {
    beforeAll(async () => {
      // the real script, as CI and the image run it; --clean so a stale dist/ cannot hide a gap
      await run('npm', ['run', 'build', '--', '--clean'], { cwd: REPO_ROOT, timeout: BUILD_TIMEOUT_MS, maxBuffer: BUILD_OUTPUT_BYTES_MAX });
    }, BUILD_TIMEOUT_MS);

    it('npm run build leaves a dist/ that plain node runs: every entry built, nothing requires swc, tsx, solc, a .ts file or an alias', () => {
      expect(BUILT_APPS.filter((app) => !existsSync(join(REPO_ROOT, entryOf(app))))).toEqual([]);
      const scan = scanDist(DIST_DIR, [CONSOLE_BUILD_DIR]);
      expect(formatProblems(scan.problems)).toBe('');
      expect(existsSync(join(CONSOLE_BUILD_DIR, 'index.html'))).toBe(true); // the web console the gateway serves at /app/
      expect(scan.files).toBeGreaterThan(100);
      expect(scan.requires).toBeGreaterThan(scan.files);
    });

    it("from dist/, the agent's workload worker and settlement's verification workers run on plain node threads", async () => {
      const workload = { kind: 'hash-chain', seed: 'e2e-dist-worker', iterations: 2_000 } as const;
      const expected = runBuiltInWorkload(workload);
      // a child without hooks or flags: what `node dist/...` in the image is
      const script = `
        const { runWorkload } = require(${JSON.stringify(join(DIST_DIR, 'apps/provider-agent/src/runtime.js'))});
        const { VerificationPool } = require(${JSON.stringify(join(DIST_DIR, 'apps/settlement/src/verify-results/verification-pool.js'))});
        (async () => {
          const workload = ${JSON.stringify(workload)};
          const result = await runWorkload(workload, { commandRuntime: false, builtInOnWorker: true });
          const pool = new VerificationPool({ heavyThreads: 1, queueMax: 1 });
          const verification = await pool.verify('job-1', workload, result);
          await pool.onModuleDestroy();
          process.stdout.write(JSON.stringify({ result, verification }));
        })().catch((err) => { console.error(err); process.exit(1); });`;
      const { stdout } = await run(process.execPath, ['-e', script], { cwd: REPO_ROOT, timeout: 60_000, env: { PATH: process.env.PATH } });
      const { result, verification } = JSON.parse(stdout) as { result: typeof expected; verification: { ok: boolean } };
      expect(result).toEqual(expected);
      expect(verification.ok).toBe(true);
    });

    it('from dist/ (npm run build), runs a job submitted over HTTP to settled and moves exactly its cost from requester to provider on chain', async () => {
      let h: Harness | undefined;
      let stack: Stack | undefined;
      let failed = true;
      try {
        h = await harness('settle', { fromDist: true });
        stack = await startStack(h.options);
        // every service and agent is a plain `node dist/.../main.js`: no hook, no flags
        const launched = [...stack.processes.values()].filter((p) => p.spec.command === process.execPath && p.spec.name !== 'postgres');
        expect(launched.map((p) => p.spec.args)).toEqual([...SERVICES, ...DEMO_AGENTS.map(() => 'provider-agent' as const)].map((app) => [join(REPO_ROOT, entryOf(app))]));
        const client = createClient({ baseUrl: stack.gatewayUrl, apiKey: stack.demoApiKey });
        // the gateway from dist/ serves the web console from dist/console
        const page = await fetch(`${stack.gatewayUrl}/app/`);
        expect(page.status).toBe(200);
        expect(await page.text()).toMatch(/<div id="root">/);
        const nodes = await nodesOnline(client, 2);
        const nodeAddresses = [...nodes.values()];
        const requester = stack.demoOrg.accountAddress;
        const before = await balances(stack, [requester, ...nodeAddresses]);

        const { jobId, status } = await client.submitJob({ job: job('e2e-settle', 5_000), idempotencyKey: 'e2e-settle-1' });
        expect(status).toBe('queued');
        // The same Idempotency-Key answers with the same job, and does not submit a second one.
        await expect(client.submitJob({ job: job('e2e-settle', 5_000), idempotencyKey: 'e2e-settle-1' })).resolves.toMatchObject({ jobId });

        const settled = await client.waitForJob({ jobId, statuses: ['settled'], timeoutMs: SETTLE_TIMEOUT_MS });
        expect(settled.nodeId).not.toBeNull();
        expect(settled.txHashes.settle).toMatch(/^0x[0-9a-f]{64}$/);
        expect(settled.result?.resultHash).toMatch(/^0x[0-9a-f]{64}$/);
        const costWei = BigInt(settled.costWei ?? '0');
        expect(costWei).toBeGreaterThan(0n);

        const provider = nodes.get(settled.nodeId!)!;
        const after = await balances(stack, [requester, ...nodeAddresses]);
        const delta = (addr: `0x${string}`): bigint => {
          const i = [requester, ...nodeAddresses].indexOf(addr);
          return after[i] - before[i];
        };
        expect(delta(requester)).toBe(-costWei);
        expect(delta(provider)).toBe(costWei);
        for (const other of nodeAddresses.filter((a) => a !== provider)) expect(delta(other)).toBe(0n);
        expect((await client.listJobs()).jobs.map((j) => j.jobId)).toEqual([jobId]);
        failed = false;
      } finally {
        await cleanup(h, stack, failed);
      }
    });
  });

  it('given the stack is stopped mid-job and started again on the same data, the job ends settled or refunded exactly once', async () => {
    let h: Harness | undefined;
    let stack: Stack | undefined;
    let failed = true;
    try {
      h = await harness('restart');
      stack = await startStack(h.options);
      let client = createClient({ baseUrl: stack.gatewayUrl, apiKey: stack.demoApiKey });
      const nodes = await nodesOnline(client, 2);
      const requester = stack.demoOrg.accountAddress;
      const accounts = [requester, ...nodes.values()];
      const before = await balances(stack, accounts);

      // Long enough (a few seconds of hashing) that the stop lands while the job is in flight.
      const { jobId } = await client.submitJob({ job: job('e2e-restart', 1_500_000) });
      const seen = await until(client, jobId, ['matched', 'contracted', 'running', 'completed', 'settled', 'refunded'], SETTLE_TIMEOUT_MS);
      await stack.stop();
      stack = undefined;

      stack = await startStack(h.options);
      client = createClient({ baseUrl: stack.gatewayUrl, apiKey: stack.demoApiKey });
      const final = await client.waitForJob({ jobId, statuses: ['settled', 'refunded'], timeoutMs: SETTLE_TIMEOUT_MS });
      const after = await balances(stack, accounts);
      const deltas = after.map((b, i) => b - before[i]);
      const costWei = BigInt(final.costWei ?? '0');
      if (final.status === 'settled') {
        const provider = nodes.get(final.nodeId!)!;
        expect(deltas[0]).toBe(-costWei);
        expect(deltas[accounts.indexOf(provider)]).toBe(costWei);
        expect(deltas.reduce((a, b) => a + b, 0n)).toBe(0n);
      } else {
        expect(deltas).toEqual(accounts.map(() => 0n));
      }
      // Still the one job, and it stays final.
      await new Promise((r) => setTimeout(r, 2_000));
      expect((await client.getJob({ jobId })).status).toBe(final.status);
      expect(await balances(stack, accounts)).toEqual(after);
      expect(seen.jobId).toBe(jobId);
      failed = false;
    } finally {
      await cleanup(h, stack, failed);
    }
  });
});
