/// <reference lib="dom" />
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createClient, type StarMinerClient } from '@starminer/sdk';
import { jobRequest, OPERATOR_TOKEN, startMarket, type Market } from '../../gateway/test/market-harness';
import { ensureChromium } from '../../../tools/test/chromium';
import { ensureConsoleBuilt } from '../../../tools/build/console';

/**
 * The console in a real browser (the system's Chromium, headless, driven by playwright-core)
 * against the whole market in one process: a requester signs in, reads a quote, submits a job and
 * watches it settle live, opens its receipt, sees the price candles and the provider's earnings
 * rise, and finds the operator and auditor pages healthy. Every page is saved as a screenshot
 * (test-artifacts/console/) and scanned with axe-core: no serious or critical violation.
 */
const ROOT = resolve(__dirname, '..', '..', '..');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'console');
const AGPU = 10n ** 18n;
const BUDGET_AGPU = 50n;

/** AGPU shown on a page ("12.5 AGPU", "1,234.000001 AGPU") as base units. */
function agpuOnPage(text: string): bigint {
  const m = /([\d,]+(?:\.\d+)?)\s*AGPU/.exec(text);
  if (!m) throw new Error(`no AGPU amount in ${JSON.stringify(text)}`);
  const [whole, frac = ''] = m[1].replace(/,/g, '').split('.');
  return BigInt(whole) * AGPU + BigInt((frac + '0'.repeat(18)).slice(0, 18));
}

describe('the web console, in Chromium, on the whole market', () => {
  let market: Market;
  let browser: Browser;
  let page: Page;
  let requester: StarMinerClient;
  let apiKey: string;
  let orgName: string;
  let agent: Awaited<ReturnType<Market['startAgent']>>;
  let jobId: string;
  const scans: Record<string, { id: string; impact: string | null | undefined; help: string; nodes: string[] }[]> = {};
  const dir = mkdtempSync(join(tmpdir(), 'starminer-console-'));

  /** A screenshot of the page as it is, and its axe scan (serious and critical violations kept). */
  async function capture(name: string): Promise<void> {
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
    const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    scans[name] = result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  }

  const nav = (name: string) => page.getByRole('navigation').getByRole('link', { name, exact: true }).click();
  /** Waits until the element with this test id shows text that matches (the page's own updates, no reload). */
  const waitForText = (testId: string, pattern: RegExp, timeoutMs: number) =>
    page.waitForFunction(
      ({ testId, source, flags }) => new RegExp(source, flags).test(document.querySelector(`[data-testid="${testId}"]`)?.textContent ?? '\u0000'),
      { testId, source: pattern.source, flags: pattern.flags },
      { timeout: timeoutMs, polling: 250 },
    );

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const built = join(dir, 'console');
    ensureConsoleBuilt(() => undefined, built); // built once for this run, into its own folder (a developer's dist/console is left alone)
    // prices move every second (not every minute), so the market the job runs in has candles to chart
    market = await startMarket({ env: { CONSOLE_DIR: built, MATCHING_REPRICE_INTERVAL_MS: '1000' } });
    const operator = createClient({ baseUrl: market.gatewayUrl });
    orgName = 'console-spec';
    const org = await operator.createOrg({ operatorToken: OPERATOR_TOKEN, name: orgName });
    apiKey = org.apiKey;
    requester = createClient({ baseUrl: market.gatewayUrl, apiKey });
    await requester.faucet({ amountWei: 200n * AGPU });
    agent = await market.startAgent({ name: 'console-node', gpuModel: 'A100', vramGiB: 80, region: 'us-east' });
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM_BIN || ensureChromium(), headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    page.setDefaultTimeout(30_000);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await market?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs in with an API key and shows the org and its balance', async () => {
    await page.goto(`${market.gatewayUrl}/app/`);
    await capture('sign-in');
    await page.getByLabel('API key').fill(apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('banner').getByText(orgName).waitFor();
    expect(agpuOnPage(await page.getByRole('banner').innerText())).toBe(200n * AGPU);
    await capture('jobs-empty');
  });

  it("shows the provider's node and its earnings, nothing yet, signed with its node key in the browser", async () => {
    await nav('Provider');
    await page.getByLabel('Node key').fill(readFileSync(agent.keyFile, 'utf8').trim());
    const chainId = page.getByLabel('Chain ID');
    if (await chainId.count()) await chainId.fill(String(market.anvil.chainId));
    await page.getByRole('button', { name: 'Show node' }).click();
    await waitForText('provider-earnings', /AGPU/, 30_000);
    expect(agpuOnPage(await page.getByTestId('provider-earnings').innerText())).toBe(0n);
    await capture('provider-before');
  });

  it('reads a live quote, submits the job, and watches it reach settled live', async () => {
    await nav('New job');
    const job = jobRequest();
    await page.getByLabel('Budget (AGPU)').fill(String(BUDGET_AGPU));
    await page.getByLabel('Workload seed').fill('console-spec');
    await page.getByLabel('Iterations').fill(String(job.workload.iterations));
    const quote = page.getByRole('region', { name: 'Quote' });
    await quote.getByText(/AGPU/).first().waitFor();
    await capture('new-job');
    await page.getByRole('button', { name: 'Submit job' }).click();
    await page.waitForURL(/\/app\/jobs\/[0-9a-f-]{36}/);
    jobId = /\/app\/jobs\/([0-9a-f-]{36})/.exec(page.url())![1];
    await page.getByRole('heading', { name: `Job ${jobId}` }).waitFor();
    // the page shows each status as it comes (SSE), ending at settled without a reload
    await waitForText('job-status', /^settled$/, 120_000);
    const onApi = await requester.getJob({ jobId });
    expect(onApi.status).toBe('settled');
    expect(onApi.nodeId).toBe(agent.nodeId);
  }, 180_000);

  it("opens the job's match receipt, term by term, with its chart and its numbers in text", async () => {
    const receipt = page.getByRole('region', { name: 'Match receipt' });
    await receipt.waitFor();
    expect(await receipt.getByRole('img').count()).toBeGreaterThan(0);
    expect(await receipt.getByRole('table').count()).toBeGreaterThan(0);
    await capture('job');
    // the README's screenshot of the job page
    await page.screenshot({ path: join(ARTIFACTS, 'job-page.png'), fullPage: false });
  });

  it('lists the job on the jobs page', async () => {
    await nav('Jobs');
    await page.getByRole('link', { name: new RegExp(jobId.slice(0, 8)) }).first().waitFor();
    await capture('jobs');
  });

  it('shows the price candles of the market the job ran in', async () => {
    await nav('Market');
    await page.getByRole('heading', { name: 'Market', exact: true }).waitFor();
    const candles = page.getByTestId('price-candles');
    await candles.waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="price-candles"] canvas, [data-testid="price-candles"] svg') !== null);
    const history = await requester.getPriceHistory({ gpuModel: 'A100', region: 'us-east' });
    expect(history.candles.length).toBeGreaterThan(0);
    await capture('market');
  });

  it("sees the provider's earnings rise by what the job paid", async () => {
    await nav('Provider');
    const paid = await requester.getJob({ jobId });
    await waitForText('provider-earnings', /[1-9][\d,.]*\s*AGPU|0\.\d*[1-9]\d*\s*AGPU/, 30_000);
    const earned = agpuOnPage(await page.getByTestId('provider-earnings').innerText());
    expect(earned).toBeGreaterThan(0n);
    if (paid.costWei) expect(earned).toBeLessThanOrEqual(BigInt(paid.costWei));
    await capture('provider-after');
  });

  it('finds the operator page healthy', async () => {
    await nav('Operator');
    await page.getByLabel('Operator token').fill(OPERATOR_TOKEN);
    await page.getByRole('button', { name: 'Show status' }).click();
    await waitForText('ops-overall', /^healthy$/, 30_000);
    await capture('operator');
  });

  it('shows the anchors on chain, verified', async () => {
    await nav('Auditor');
    await page.getByText('verified').first().waitFor({ timeout: 30_000 });
    await capture('auditor');
  });

  it('switches to dark mode and lays the pages out for a narrow screen', async () => {
    await page.setViewportSize({ width: 420, height: 900 });
    await page.getByRole('button', { name: 'Dark mode' }).click();
    await page.getByRole('button', { name: 'Light mode' }).waitFor();
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).not.toBe('rgb(255, 255, 255)');
    await nav('Jobs');
    await page.getByRole('link', { name: new RegExp(jobId.slice(0, 8)) }).first().click();
    await waitForText('job-status', /^settled$/, 30_000);
    await capture('job-dark-narrow');
    await nav('Market');
    await page.getByTestId('price-candles').waitFor();
    await capture('market-dark-narrow');
    // nothing wider than the screen: the layout wraps instead of scrolling sideways
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(420);
  });

  it('has no serious or critical accessibility violation on any page, light or dark, wide or narrow (axe-core)', () => {
    expect(Object.keys(scans).sort()).toEqual(['auditor', 'job', 'job-dark-narrow', 'jobs', 'jobs-empty', 'market', 'market-dark-narrow', 'new-job', 'operator', 'provider-after', 'provider-before', 'sign-in']);
    expect(scans).toEqual(Object.fromEntries(Object.keys(scans).map((k) => [k, []])));
  });
});
