import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { OPERATOR_TOKEN, startMarket, type Market } from '../../gateway/test/market-harness';
import { runIntoClosedPipe } from '../src/testing/closed-pipe.testing';

/**
 * `starminer` as a new user runs it: built with its own tsup config into a file, started as its
 * own process with a fresh config directory, against the whole market on real NATS, Postgres and
 * anvil. From the operator's `orgs create` to `login`, a quote, a job followed to `settled`, its
 * view and history; `nodes search` with filters; a provider's node; and each exit code.
 */

const ROOT = resolve(__dirname, '..', '..', '..');
const AGPU = 10n ** 18n;
/** One CLI run never takes this long; past it the run is killed and the test fails saying so. */
const RUN_TIMEOUT_MS = 120_000;
/** How long the harness's agents may take to register before `nodes search` is asked about them. */
const AGENTS_REGISTERED_WITHIN_MS = 30_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('starminer, the CLI, driven as a new user would', () => {
  let market: Market;
  let buildDir: string;
  let bin: string;
  let home: string;
  let configHome: string;
  let h100: { nodeId: string; stop(): Promise<void> };
  let rtx: { nodeId: string; stop(): Promise<void> };

  /** Runs `starminer args...` the way a shell would: its own process, this user's HOME, nothing of ours in its environment. */
  function cli(args: readonly string[], opts: { stdin?: string; env?: Record<string, string> } = {}): Promise<Run> {
    return new Promise((done, fail) => {
      const child = spawn(process.execPath, [bin, ...args], {
        cwd: home,
        env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: configHome, ...opts.env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        fail(new Error(`starminer ${args.join(' ')} ran past ${RUN_TIMEOUT_MS} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
      }, RUN_TIMEOUT_MS);
      child.on('error', fail);
      child.on('close', (code) => {
        clearTimeout(timer);
        done({ code, stdout, stderr });
      });
      child.stdin.end(opts.stdin ?? '');
    });
  }

  /**
   * `starminer args... | head -0`: the reader of stdout is gone before the CLI writes, so its first
   * write fails with EPIPE. Answers the exit code and stderr.
   */
  function cliIntoClosedPipe(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
    return runIntoClosedPipe(process.execPath, [bin, ...args], { cwd: home, env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: configHome }, label: args, timeoutMs: RUN_TIMEOUT_MS });
  }

  /** A run that must succeed; its stdout parsed as JSON. */
  async function json<T = Record<string, unknown>>(args: readonly string[], opts?: { stdin?: string; env?: Record<string, string> }): Promise<T> {
    const r = await cli([...args, '--json'], opts);
    if (r.code !== 0) throw new Error(`starminer ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  /** The error body `--json` writes on stderr. */
  const errorOf = (r: Run): { code: string; message: string; status?: number } => (JSON.parse(r.stderr) as { error: { code: string; message: string; status?: number } }).error;

  const jobFlags = (budget: string, gpu: string) => ['--category', 'inference', '--budget', budget, '--gpu', gpu, '--gpus', '1', '--vram', '8', '--urgency', 'normal', '--runtime', '60', '--workload', 'hash-chain', '--iterations', '2000'];

  beforeAll(async () => {
    mkdirSync(join(ROOT, 'tmp'), { recursive: true });
    // inside the repo (tmp/ is ignored), so the bundle finds its external dependencies in node_modules as an install would
    buildDir = mkdtempSync(join(ROOT, 'tmp', 'cli-test-build-'));
    const built = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsup'), ['--config', 'apps/cli/tsup.config.ts', '--out-dir', buildDir], { cwd: ROOT, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`tsup failed: ${built.stderr}${built.stdout}`);
    bin = join(buildDir, 'starminer.cjs');
    home = mkdtempSync(join(tmpdir(), 'starminer-cli-home-'));
    configHome = join(home, '.config');

    market = await startMarket();
    h100 = await market.startAgent({ name: 'cli-h100', gpuModel: 'H100', vramGiB: 80, region: 'eu-west' });
    rtx = await market.startAgent({ name: 'cli-rtx', gpuModel: 'RTX4090', vramGiB: 24, region: 'us-east' });
    const until = Date.now() + AGENTS_REGISTERED_WITHIN_MS;
    for (;;) {
      const { nodes } = (await (await fetch(`${market.gatewayUrl}/v1/nodes?limit=100`)).json()) as { nodes: { nodeId: string; online: boolean }[] };
      const online = new Set(nodes.filter((n) => n.online).map((n) => n.nodeId));
      if (online.has(h100.nodeId) && online.has(rtx.nodeId)) break;
      if (Date.now() > until) throw new Error(`the agents did not register within ${AGENTS_REGISTERED_WITHIN_MS} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 240_000);

  afterAll(async () => {
    await h100?.stop();
    await rtx?.stop();
    await market?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
    if (buildDir) rmSync(buildDir, { recursive: true, force: true });
  });

  it('takes a new requester from login to a settled job', async () => {
    // the operator's first step: an org and its key (shown once), the token from the environment as the tours say
    const org = await json<{ orgId: string; apiKey: string; accountAddress: string }>(['orgs', 'create', 'Acme', '--gateway', market.gatewayUrl], { env: { STARMINER_OPERATOR_TOKEN: OPERATOR_TOKEN } });
    expect(org.apiKey).toMatch(/^sm_/);
    // the flag still works, for scripts, but warns that ps and the shell history see the token
    const tokenOnArgv = await cli(['orgs', 'create', 'Acme 2', '--gateway', market.gatewayUrl, '--operator-token', 'not-the-token']);
    expect(tokenOnArgv.code).toBe(1);
    expect(tokenOnArgv.stderr).toMatch(/^warning: --operator-token puts the operator token on the command line, where ps shows it/m);
    expect(tokenOnArgv.stderr).toContain('STARMINER_OPERATOR_TOKEN');

    // before login, a command that needs the key says so and sends nothing
    const early = await cli(['jobs', 'list', '--gateway', market.gatewayUrl]);
    expect(early.code).toBe(2);
    expect(early.stderr).toContain('NOT_LOGGED_IN');

    // login reads the key from stdin, checks it, and keeps it with the gateway, readable by its owner only
    const login = await cli(['login', '--gateway', market.gatewayUrl], { stdin: `${org.apiKey}\n` });
    expect(login.stderr).toBe('');
    expect(login.code).toBe(0);
    expect(login.stdout).toContain(`as Acme (${org.orgId})`);
    const configFile = join(configHome, 'starminer', 'config.json');
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(configFile, 'utf8'))).toEqual({ gateway: market.gatewayUrl, apiKey: org.apiKey });

    // a wrong key is refused by the gateway (exit 1) and does not replace the kept one
    const wrong = await cli(['login', '--api-key', 'sm_not-a-key', '--json']);
    expect(wrong.code).toBe(1);
    expect(errorOf(wrong).code).toBe('API_KEY_INVALID');
    expect(JSON.parse(readFileSync(configFile, 'utf8')).apiKey).toBe(org.apiKey);

    // from here on, no --gateway: the config file says where
    const me = await json<{ account: { orgId: string; accountAddress: string }; apiKeyFrom: string }>(['whoami']);
    expect(me.account).toMatchObject({ orgId: org.orgId, accountAddress: org.accountAddress });
    expect(me.apiKeyFrom).toBe('config');

    const mint = await json<{ balanceWei: string }>(['faucet', '1000', '--idempotency-key', 'cli-spec-faucet']);
    expect(BigInt(mint.balanceWei)).toBe(1000n * AGPU);

    // a quote: the price now, on the H100 node, nothing submitted
    const jobsBefore = await market.count('trade.job.>');
    const quote = await json<{ feasible: boolean; price: { gpuModel: string; costWei: string } | null; nodeId: string | null }>(['quote', ...jobFlags('50', 'H100')]);
    expect(quote.feasible).toBe(true);
    expect(quote.price?.gpuModel).toBe('H100');
    expect(quote.nodeId).toBe(h100.nodeId);
    expect(BigInt(quote.price!.costWei)).toBeLessThanOrEqual(50n * AGPU);
    const quoteText = await cli(['quote', ...jobFlags('50', 'H100')]);
    expect(quoteText.code).toBe(0);
    expect(quoteText.stdout).toMatch(/^feasible +yes$/m);
    expect(quoteText.stdout).toMatch(/^price +[0-9.]+ AGPU per GPU-hour \(H100 eu-west/m);
    // a budget below any price: why not, and the budget that would do
    const tooPoor = await json<{ feasible: boolean; price: unknown; reasons: { code: string }[]; nearest: { change: string; value: string }[] }>(['quote', ...jobFlags('0.000000000000000001', 'H100')]);
    expect(tooPoor.price).toBeNull();
    expect(tooPoor.reasons.map((r) => r.code)).toContain('budget-below-price');
    expect(tooPoor.nearest.find((n) => n.change === 'budget')?.value).toBe(quote.price!.costWei);
    expect(await market.count('trade.job.>')).toBe(jobsBefore);

    // submit and wait: progress on stderr (no terminal: a line per status), the settled job on stdout
    const submitted = await cli(['jobs', 'submit', ...jobFlags('50', 'H100'), '--idempotency-key', 'cli-spec-1', '--wait', '--timeout', '90']);
    expect(submitted.code).toBe(0);
    const jobId = /^job +(\S+)$/m.exec(submitted.stdout)?.[1];
    expect(jobId).toBeDefined();
    expect(submitted.stdout).toMatch(/^status +settled$/m);
    expect(submitted.stdout).toMatch(new RegExp(`^node +${h100.nodeId}$`, 'm'));
    expect(submitted.stderr).toContain(`job ${jobId}: queued`);
    expect(submitted.stderr.trim().split('\n').at(-1)).toBe(`job ${jobId}: settled`);

    // the same idempotency key answers the same job, and --json prints the answer
    const again = await json<{ jobId: string }>(['jobs', 'submit', ...jobFlags('50', 'H100'), '--idempotency-key', 'cli-spec-1']);
    expect(again.jobId).toBe(jobId);

    const job = await json<{ jobId: string; status: string; nodeId: string; costWei: string; txHashes: { settle: string | null } }>(['jobs', 'get', jobId!]);
    expect(job).toMatchObject({ jobId, status: 'settled', nodeId: h100.nodeId });
    expect(BigInt(job.costWei)).toBeGreaterThan(0n);
    expect(job.txHashes.settle).toMatch(/^0x[0-9a-f]{64}$/);
    const shown = await cli(['jobs', 'get', jobId!]);
    expect(shown.stdout).toMatch(/^status +settled$/m);
    expect(shown.stdout).toMatch(/^cost +[0-9.]+ AGPU$/m);

    const history = await json<{ type: string; status: string; seq: string }[]>(['jobs', 'history', jobId!]);
    expect(history[0]).toMatchObject({ type: 'job.queued', status: 'queued' });
    expect(history.at(-1)).toMatchObject({ type: 'job.settled', status: 'settled' });
    expect(history.map((u) => u.type)).toEqual(expect.arrayContaining(['job.matched', 'job.contracted', 'job.running', 'job.completed']));
    const historyText = await cli(['jobs', 'history', jobId!]);
    expect(historyText.stdout).toMatch(/^SEQ +AT +STATUS +UPDATE +DETAIL$/m);
    expect(historyText.stdout).toContain('job.settled');

    // watching a job that has ended replays its updates, one line each, and exits 0 for settled
    const watched = await cli(['jobs', 'watch', jobId!, '--timeout', '30']);
    expect(watched.code).toBe(0);
    expect(watched.stdout.trim().split('\n').at(-1)).toMatch(/ settled +job\.settled/);
    // `jobs watch ID | head -1`: the reader goes, the CLI ends quietly (no unhandled EPIPE and its stack)
    const piped = await cliIntoClosedPipe(['jobs', 'watch', jobId!, '--timeout', '30']);
    expect(piped).toEqual({ code: 0, stderr: '' });
    // `--since` is checked by the CLI: a usage error, exit 2
    const badSince = await cli(['jobs', 'watch', jobId!, '--since', 'abc', '--json']);
    expect(badSince.code).toBe(2);
    expect(errorOf(badSince).code).toBe('BAD_FLAG');
    const ndjson = await cli(['jobs', 'watch', jobId!, '--timeout', '30', '--json']);
    expect(ndjson.code).toBe(0);
    expect(ndjson.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(history.map((u) => u.type));

    const list = await json<{ jobs: { jobId: string }[]; nextCursor: string | null }>(['jobs', 'list']);
    expect(list.jobs.map((j) => j.jobId)).toContain(jobId);
    const all = await json<{ jobs: { jobId: string }[]; more: boolean }>(['jobs', 'list', '--all', '--limit', '10']);
    expect(all).toEqual({ jobs: list.jobs, more: false });
    const listText = await cli(['jobs', 'list']);
    expect(listText.stdout).toMatch(new RegExp(`^${jobId} +settled +inference +50 AGPU`, 'm'));

    // a settled job cannot be cancelled: the gateway says so, exit 1
    const cancel = await cli(['jobs', 'cancel', jobId!, '--json']);
    expect(cancel.code).toBe(1);
    expect(errorOf(cancel)).toMatchObject({ code: 'JOB_ALREADY_FINAL', status: 409 });

    // a job no node can take now: the wait times out (exit 5), cancel ends it, and watching it exits 4
    const stuck = await cli(['jobs', 'submit', ...jobFlags('50', 'A100'), '--wait', '--timeout', '2', '--json']);
    expect(stuck.code).toBe(5);
    expect(errorOf(stuck).code).toBe('WAIT_TIMEOUT');
    const stuckId = (await json<{ jobs: { jobId: string; status: string }[] }>(['jobs', 'list'])).jobs.find((j) => j.status === 'queued')!.jobId;
    const cancelled = await cli(['jobs', 'cancel', stuckId]);
    expect(cancelled).toMatchObject({ code: 0, stdout: `job ${stuckId} cancelled\n` });
    const watchCancelled = await cli(['jobs', 'watch', stuckId, '--timeout', '30']);
    expect(watchCancelled.code).toBe(4);
    expect(watchCancelled.stderr).toContain(`job ${stuckId} ended cancelled`);

    // usage errors are exit 2 and send nothing
    const before = await market.count('trade.job.>');
    const noCategory = await cli(['jobs', 'submit', '--budget', '5', '--runtime', '60', '--json']);
    expect(noCategory.code).toBe(2);
    expect(errorOf(noCategory).code).toBe('MISSING_FLAG');
    const badBudget = await cli(['jobs', 'submit', '--category', 'inference', '--budget', '1e3', '--runtime', '60']);
    expect(badBudget.code).toBe(2);
    expect(badBudget.stderr).toContain('BAD_AMOUNT');
    // a body the gateway refuses names the field: exit 1
    const jobFile = join(home, 'job.json');
    writeFileSync(jobFile, JSON.stringify({ category: 'inference', budgetWei: '5', urgency: 'normal', latencyPreference: 'normal', requirements: { gpuModels: [], gpuCount: 1, minVramGiB: 0, tee: false, regions: [] }, expectedRuntimeSec: 0, workload: { kind: 'hash-chain', seed: 's', iterations: 1 } }));
    const refused = await cli(['jobs', 'submit', '--file', jobFile]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error VALIDATION_FAILED \(400\)/);
    expect(refused.stderr).toContain('expectedRuntimeSec');
    expect(await market.count('trade.job.>')).toBe(before);

    // the market, public: prices per tier and the queues
    const board = await json<{ markets: { gpuModel: string; region: string }[] }>(['market', 'prices', '--gpu', 'H100']);
    expect(board.markets.map((m) => `${m.gpuModel}/${m.region}`)).toEqual(['H100/eu-west']);
    const queues = await json<{ queues: Record<string, number> }>(['market', 'queues']);
    expect(Object.keys(queues.queues).sort()).toEqual(['ai-training', 'inference', 'rendering', 'simulation']);

    // logout forgets the key
    expect((await cli(['logout'])).code).toBe(0);
    expect(JSON.parse(readFileSync(configFile, 'utf8'))).toEqual({ gateway: market.gatewayUrl });
    expect((await cli(['whoami'])).code).toBe(2);
    // the environment can still give one
    const byEnv = await json<{ apiKeyFrom: string }>(['whoami'], { env: { STARMINER_API_KEY: org.apiKey } });
    expect(byEnv.apiKeyFrom).toBe('env');
  }, 240_000);

  it('searches nodes with the filter language: exactly the nodes that match, none when none does, and the gateway code for a bad filter', async () => {
    const ids = async (...filter: string[]) => (await json<{ nodes: { nodeId: string }[] }>(['nodes', 'search', ...filter, '--gateway', market.gatewayUrl])).nodes.map((n) => n.nodeId).sort();
    expect(await ids('gpu=H100', 'vram>=8')).toEqual([h100.nodeId]);
    expect(await ids('gpu=RTX4090', 'vram>=80')).toEqual([]);
    expect(await ids('region in [eu-west,us-east]', 'online=true')).toEqual([h100.nodeId, rtx.nodeId].sort());
    expect(await ids('gpu in [H100, RTX4090]', 'vram<80')).toEqual([rtx.nodeId]);

    const table = await cli(['nodes', 'search', 'gpu=RTX4090', '--gateway', market.gatewayUrl]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^NODE +GPU +GPUS +VRAM +REGION/m);
    expect(table.stdout).toMatch(new RegExp(`^${rtx.nodeId} +RTX4090 +1 +24 GiB +us-east`, 'm'));
    expect(table.stdout).not.toContain(h100.nodeId);

    const bad = await cli(['nodes', 'search', 'gpu>>H100', '--gateway', market.gatewayUrl, '--json']);
    expect(bad.code).toBe(1);
    expect(errorOf(bad)).toMatchObject({ code: 'BAD_FILTER', status: 400 });
  }, 120_000);

  it("registers a provider's node with a key it makes, then shows its status and earnings", async () => {
    const chainId = String(market.anvil.chainId);
    const reg = await json<{ nodeId: string; nodeAddress: string; keyFile: string; keyCreated: boolean }>([
      'provider', 'register', '--gateway', market.gatewayUrl, '--chain-id', chainId, '--gpu', 'A40', '--vram', '48', '--region', 'ap-south', '--benchmark-score', '5000',
    ]);
    expect(reg.keyCreated).toBe(true);
    expect(reg.nodeId).toBe(`node-${reg.nodeAddress.slice(2).toLowerCase()}`);
    expect(statSync(reg.keyFile).mode & 0o777).toBe(0o600);

    const found = await json<{ nodes: { nodeId: string; online: boolean }[] }>(['nodes', 'search', 'gpu=A40', '--gateway', market.gatewayUrl]);
    expect(found.nodes.map((n) => n.nodeId)).toEqual([reg.nodeId]);

    // status and earnings need no flags: register kept the key, node and chain
    const status = await json<{ node: { nodeId: string; gpuModel: string }; jobs: Record<string, number> }>(['provider', 'status', '--gateway', market.gatewayUrl]);
    expect(status.node).toMatchObject({ nodeId: reg.nodeId, gpuModel: 'A40' });
    const earnings = await json<{ nodeId: string; totalEarnedWei: string; jobs: unknown[] }>(['provider', 'earnings', '--gateway', market.gatewayUrl]);
    expect(earnings).toMatchObject({ nodeId: reg.nodeId, totalEarnedWei: '0', jobs: [] });
    const text = await cli(['provider', 'earnings', '--gateway', market.gatewayUrl]);
    expect(text.stdout).toMatch(/^earned +0 AGPU$/m);

    // registering again with the same key is the same node
    const again = await json<{ nodeId: string; keyCreated: boolean }>(['provider', 'register', '--gateway', market.gatewayUrl, '--gpu', 'A40', '--vram', '48', '--region', 'ap-south', '--benchmark-score', '5000']);
    expect(again).toMatchObject({ nodeId: reg.nodeId, keyCreated: false });
  }, 120_000);

  it('prints a shell completion script and completes commands', async () => {
    const script = await cli(['completion']);
    expect(script.code).toBe(0);
    expect(script.stdout).toContain('starminer --get-yargs-completions');
    const words = await cli(['--get-yargs-completions', 'starminer', 'jobs', '']);
    expect(words.stdout.split('\n')).toEqual(expect.arrayContaining(['submit', 'list', 'get', 'watch', 'cancel', 'history']));
    // `starminer completion | head -5`: the reader goes, the CLI ends quietly
    expect(await cliIntoClosedPipe(['completion'])).toEqual({ code: 0, stderr: '' });
  });
});
