import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { OPERATOR_TOKEN, startMarket, type Market } from './market-harness';

/**
 * libs/sdk's pack test (here, beside the market harness it needs: a library may not import an app).
 * The SDK as its users get it: built with tsup, packed with `npm pack`, installed from the tarball
 * into a scratch project outside the repo with no network (`--offline`: the main entry has no
 * runtime dependency to fetch), then used from plain Node (ESM and CommonJS) against a running
 * market, type-checked as a TypeScript user's project would, and bundled for a browser.
 */
const run = promisify(execFile);
const ROOT = join(__dirname, '../../..');
const SDK = join(ROOT, 'libs/sdk');
const CONSUMER = join(SDK, 'test/consumer');
const GPU_MODEL = 'RTX4090';

// Child processes, never the sync kind: the market runs on this process's event loop.
async function sh(file: string, args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<string> {
  try {
    const { stdout } = await run(file, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, maxBuffer: 16 * 1024 * 1024, timeout: 240_000 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}
const npm = (args: string[], cwd: string): Promise<string> => sh(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, { cwd });

describe('@starminer/sdk, packed and installed outside the repo', () => {
  let scratch: string;
  let installed: string;
  let packedFiles: string[];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'starminer-sdk-pack-'));
    await sh(process.execPath, [join(ROOT, 'node_modules/tsup/dist/cli-default.js'), '--config', join(SDK, 'tsup.config.ts')], { cwd: ROOT });
    const [packed] = JSON.parse(await npm(['pack', '--json', '--pack-destination', dir], SDK)) as { filename: string; files: { path: string }[] }[];
    packedFiles = packed.files.map((f) => f.path);
    scratch = join(dir, 'project');
    mkdirSync(scratch);
    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'sdk-user', version: '1.0.0', private: true }));
    await npm(['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(dir, packed.filename)], scratch);
    installed = join(scratch, 'node_modules/@starminer/sdk');
  }, 240_000);

  afterAll(() => {
    if (scratch) rmSync(join(scratch, '..'), { recursive: true, force: true });
  });

  it('ships the builds, their declarations and the README, nothing else, and installs with no dependency', () => {
    for (const f of ['package.json', 'README.md', 'dist/index.mjs', 'dist/index.js', 'dist/index.d.mts', 'dist/index.d.ts', 'dist/provider.mjs', 'dist/provider.js', 'dist/provider.d.mts', 'dist/provider.d.ts']) {
      expect(packedFiles).toContain(f);
    }
    expect(packedFiles.filter((f) => !f.startsWith('dist/') && f !== 'package.json' && f !== 'README.md')).toEqual([]);
    // viem is an optional peer (the provider entry's): npm installs nothing besides the SDK
    expect(readdirSync(join(scratch, 'node_modules')).filter((n) => !n.startsWith('.'))).toEqual(['@starminer']);
  });

  it("bundles for a browser: the installed ESM entries and the source entries (requester and provider), with no Node built-in, and type-checks without Node's types", async () => {
    for (const entry of [join(installed, 'dist/index.mjs'), join(SDK, 'src/index.ts')]) {
      // platform 'browser' fails to resolve any Node built-in: the build succeeding is half the proof
      const out = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', target: 'es2022', write: false, logLevel: 'silent' });
      const code = out.outputFiles[0].text;
      expect(code).not.toMatch(/\bnode:/);
      expect(code).not.toMatch(/\brequire\s*\(/);
      expect(code).not.toMatch(/\b(Buffer|process)\./);
      expect(code).toContain('crypto.subtle');
    }
    // the provider entry too (a provider's console signs in the browser), with viem, its peer, left to the app
    for (const entry of [join(installed, 'dist/provider.mjs'), join(SDK, 'src/provider.ts')]) {
      const out = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', target: 'es2022', write: false, logLevel: 'silent', external: ['viem', 'viem/*'] });
      const code = out.outputFiles[0].text;
      expect(code).not.toMatch(/\bnode:/);
      expect(code).not.toMatch(/\brequire\s*\(/);
      expect(code).toMatch(/from "viem"/);
    }
    await sh(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(SDK, 'tsconfig.browser.json')], { cwd: ROOT });
  }, 120_000);

  it("type-checks a strict TypeScript user's project against the installed declarations (ESM and CommonJS resolution)", async () => {
    symlinkSync(join(ROOT, 'node_modules/viem'), join(scratch, 'node_modules/viem'), 'dir');
    try {
      for (const f of ['consumer.mts', 'consumer.cts', 'tsconfig.json']) copyFileSync(join(CONSUMER, f), join(scratch, f));
      await sh(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(scratch, 'tsconfig.json')], { cwd: scratch });
    } finally {
      rmSync(join(scratch, 'node_modules/viem'));
    }
  }, 120_000);

  describe('against a running market', () => {
    let market: Market;
    let agentNodeId: string;

    beforeAll(async () => {
      market = await startMarket();
      agentNodeId = (await market.startAgent({ name: 'pack-agent', gpuModel: GPU_MODEL, vramGiB: 24, region: 'eu-west' })).nodeId;
      // the quote needs the node in the engine: wait until the gateway lists it online
      for (const until = Date.now() + 30_000; Date.now() < until; await new Promise((r) => setTimeout(r, 250))) {
        const res = await fetch(`${market.gatewayUrl}/v1/nodes/${agentNodeId}`);
        if (res.ok && ((await res.json()) as { online?: boolean }).online) break;
      }
    }, 180_000);

    afterAll(async () => {
      await market?.stop();
    });

    const env = () => ({ GATEWAY_URL: market.gatewayUrl, OPERATOR_TOKEN, GPU_MODEL, CHAIN_ID: String(market.anvil.chainId) });

    it('ESM: creates an org, funds it, quotes, submits a job and watches it to settled', async () => {
      copyFileSync(join(CONSUMER, 'requester.mjs'), join(scratch, 'requester.mjs'));
      const out = JSON.parse(await sh(process.execPath, ['requester.mjs'], { cwd: scratch, env: env() }));

      expect(out.balanceWei).toBe((1000n * 10n ** 18n).toString());
      expect(out.quote).toMatchObject({ feasible: true, price: { gpuModel: GPU_MODEL } });
      expect(out.submitted.status).toBe('queued');
      const updates = out.updates as { seq: string; type: string; status: string }[];
      expect(updates[0]).toMatchObject({ type: 'job.queued', status: 'queued' });
      expect(updates.at(-1)).toMatchObject({ type: 'job.settled', status: 'settled' });
      expect(updates.map((u) => u.status)).toEqual(expect.arrayContaining(['matched', 'contracted', 'running', 'completed']));
      for (let i = 1; i < updates.length; i += 1) expect(BigInt(updates[i].seq)).toBeGreaterThan(BigInt(updates[i - 1].seq));
      // the stream from the start and the history are the same updates
      expect(out.history).toEqual(updates.map((u) => u.seq));
      expect(out.job.status).toBe('settled');
      expect(BigInt(out.job.costWei)).toBeGreaterThan(0n);
      expect(out.job.cost).toMatch(/^[0-9]+(\.[0-9]{1,18})?$/);
      expect(out.listed).toContain(out.submitted.jobId);
      expect(out.notFound).toEqual({ isApiError: true, status: 404, code: 'JOB_NOT_FOUND' });
      expect(out.webhookVerified).toBe(true);
      expect(out.webhookForged).toBe(false);
    }, 180_000);

    it('CommonJS: the price board, node search pages, and the provider entry (viem as its peer) signing for this market', async () => {
      expect(existsSync(join(scratch, 'node_modules/viem'))).toBe(false);
      symlinkSync(join(ROOT, 'node_modules/viem'), join(scratch, 'node_modules/viem'), 'dir');
      try {
        copyFileSync(join(CONSUMER, 'provider.cjs'), join(scratch, 'provider.cjs'));
        const out = JSON.parse(await sh(process.execPath, ['provider.cjs'], { cwd: scratch, env: env() }));
        expect(out.markets).toBeGreaterThan(0);
        expect(out.nodes).toEqual([agentNodeId]);
        // signed correctly for this deployment, so the gateway answers about the node, not the signature
        expect(out.unknownNode).toMatchObject({ isApiError: true });
        expect([403, 404]).toContain(out.unknownNode.status);
        expect(out.origin).toBe(new URL(market.gatewayUrl).origin);
        expect(out.formatted).toBe('1.5');
      } finally {
        rmSync(join(scratch, 'node_modules/viem'));
      }
    }, 120_000);
  });
});
