import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { decodeEvent } from '@starminer/events';
import { scanLog } from '../shared/log-reader';
import { startAuditedMarket, type AuditedMarket } from '../testing/audited-market';
import { auditChild } from '../testing/run-audit';

const ROOT = resolve(__dirname, '../../..');
const run = promisify(execFile);
const CHILD_BUFFER_BYTES = 64 * 1024 * 1024;

/** `npm run audit -- report ...` as a child process (hyparquet-writer is an ES module, which jest cannot load). */
const auditReport = (env: Record<string, string>, args: string[]) => auditChild(env, ['report', ...args]);

/** Each Parquet file's rows, read back by hyparquet in another node process, every value as CSV writes it (null as ''). */
async function parquetRows(files: string[]): Promise<Record<string, string[][]>> {
  const script = `
    const { parquetReadObjects, parquetSchema, parquetMetadata } = require('hyparquet');
    const { readFileSync } = require('node:fs');
    (async () => {
      const out = {};
      for (const f of process.argv.slice(1)) {
        const b = readFileSync(f);
        const file = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
        const names = parquetSchema(parquetMetadata(file)).children.map((c) => c.element.name);
        const rows = await parquetReadObjects({ file });
        out[f] = [names, ...rows.map((r) => names.map((n) => (r[n] === null || r[n] === undefined ? '' : String(r[n]))))];
      }
      process.stdout.write(JSON.stringify(out));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const { stdout } = await run(process.execPath, ['-e', script, ...files], { cwd: ROOT, maxBuffer: CHILD_BUFFER_BYTES });
  return JSON.parse(stdout) as Record<string, string[][]>;
}

/** RFC 4180 records (quoted fields with doubled quotes, CRLF between records). */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      fields.push(field);
      records.push(fields);
      fields = [];
      field = '';
      i += 1;
    } else field += c;
  }
  if (field !== '' || fields.length > 0) throw new Error('the CSV does not end with CRLF');
  return records;
}

const asObjects = (records: string[][]): Record<string, string>[] => records.slice(1).map((r) => Object.fromEntries(records[0]!.map((name, i) => [name, r[i]!])));

describe('audit report: per provider and per org, as CSV, Parquet and one HTML page', () => {
  let m: AuditedMarket;
  let out: string;

  beforeAll(async () => {
    m = await startAuditedMarket({ settled: 4, deadlineRefunded: 1, slashed: 1 });
    out = await mkdtemp(join(tmpdir(), 'audit-report-'));
  }, 300_000);

  afterAll(async () => {
    await m?.stop();
    if (out) await rm(out, { recursive: true, force: true });
  });

  it("writes each provider's earnings as the log's releases, the slash, the org's spend, Parquet equal to the CSV, and a page of inline SVG charts", async () => {
    const lastSeq = await m.market.log.lastSeq();
    const { code, summary, stderr } = await auditReport(m.auditEnv, ['--out', out]);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const tables = ['providers', 'orgs', 'reputation'];
    expect(summary).toMatchObject({ audit: 'report', ok: true, undecodable: 0, jobsForgotten: 0, out, files: [...tables.flatMap((t) => [`${t}.csv`, `${t}.parquet`]), 'report.html'] });
    expect(summary.eventsRead).toBeGreaterThanOrEqual(lastSeq);

    // what the log says, folded here without the report's code: releases by the matched node's provider, slashes by node
    const providerOfNode = new Map<string, string>();
    const nodeOfJob = new Map<string, string>();
    const earnedWei = new Map<string, bigint>();
    const slashes: { provider: string; amountWei: bigint }[] = [];
    let orgSpentWei = 0n;
    await scanLog(m.market.log, { toSeq: lastSeq }, (batch) => {
      for (const msg of batch) {
        const e = decodeEvent(msg.data);
        if (e.type === 'NodeRegistered') providerOfNode.set(e.data.nodeId, e.data.providerId);
        if (e.type === 'JobMatched') nodeOfJob.set(e.data.jobId, e.data.nodeId);
        if (e.type === 'ContractReleased') {
          const provider = providerOfNode.get(nodeOfJob.get(e.data.jobId)!)!;
          earnedWei.set(provider, (earnedWei.get(provider) ?? 0n) + e.data.amountWei);
          orgSpentWei += e.data.amountWei;
        }
        if (e.type === 'StakeSlashed') slashes.push({ provider: providerOfNode.get(e.data.nodeId)!, amountWei: e.data.amountWei });
      }
    });
    expect(earnedWei.size).toBeGreaterThan(0);
    expect(slashes).toHaveLength(1);

    const csv = Object.fromEntries(await Promise.all(tables.map(async (t) => [t, parseCsv(await readFile(join(out, `${t}.csv`), 'utf8'))] as const)));
    const providers = asObjects(csv.providers!);
    expect(providers.map((p) => p.provider).sort()).toEqual([...new Set(providerOfNode.values())].sort());
    for (const p of providers) expect({ provider: p.provider, earned: p.earned_wei }).toEqual({ provider: p.provider, earned: (earnedWei.get(p.provider!) ?? 0n).toString() });
    expect(providers.reduce((s, p) => s + Number(p.jobs_released), 0)).toBe(4);
    expect(providers.reduce((s, p) => s + Number(p.jobs_refunded), 0)).toBe(2);
    const cheat = providers.find((p) => p.provider === slashes[0]!.provider)!;
    expect(cheat).toMatchObject({ slashes: '1', slashed_wei: slashes[0]!.amountWei.toString(), disputes: '1', jobs_refunded: '1', success_rate: '0', earned_wei: '0' });
    const honest = providers.filter((p) => earnedWei.has(p.provider!));
    for (const p of honest) expect({ success: p.success_rate, gpuModels: p.gpu_models, runtimeJobs: Number(p.runtime_jobs) > 0, gpuHours: Number(p.gpu_hours) > 0 }).toEqual({ success: '1', gpuModels: 'L40S', runtimeJobs: true, gpuHours: true });

    const orgs = asObjects(csv.orgs!);
    const rendering = orgs.find((o) => o.org === m.orgId && o.category === 'rendering' && o.gpu_class === 'L40S');
    expect(rendering).toMatchObject({ jobs_released: '4', spent_wei: orgSpentWei.toString() });
    expect(orgs.reduce((s, o) => s + BigInt(o.spent_wei!), 0n)).toBe(orgSpentWei);
    expect(asObjects(csv.reputation!).length).toBeGreaterThan(0);

    const parquet = await parquetRows(tables.map((t) => join(out, `${t}.parquet`)));
    for (const t of tables) expect({ table: t, rows: parquet[join(out, `${t}.parquet`)] }).toEqual({ table: t, rows: csv[t] });

    const html = await readFile(join(out, 'report.html'), 'utf8');
    expect(summary.charts).toBeGreaterThanOrEqual(8);
    expect(html.match(/<svg[\s>]/g)).toHaveLength(2 * Number(summary.charts)); // a light and a dark rendering of each chart
    expect(html).not.toMatch(/<script\s[^>]*src=/i);
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain(`<td>${slashes[0]!.provider}</td>`);
  }, 240_000);

  it('refuses a --from that is not an ISO date (usage, exit 2), before reading the log', async () => {
    const { code, summary } = await auditReport(m.auditEnv, ['--out', out, '--from', '28/11/2026']);
    expect(code).toBe(2);
    expect(summary).toMatchObject({ audit: 'report', ok: false, error: expect.stringMatching(/--from must be an ISO date/) });
  }, 120_000);

  it('counts nothing in a window before the market traded, and still writes every file', async () => {
    const empty = join(out, 'empty');
    const { code, summary } = await auditReport(m.auditEnv, ['--out', empty, '--from', '2000-01-01', '--to', '2000-01-31']);
    expect(code).toBe(0);
    expect(summary).toMatchObject({ ok: true, eventsInWindow: 0, providers: 0, orgs: 0, reputationPoints: 0 });
    expect(parseCsv(await readFile(join(empty, 'providers.csv'), 'utf8'))).toHaveLength(1);
  }, 120_000);
});
