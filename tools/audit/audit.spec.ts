import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeEvent, type TradeEvent } from '@starminer/events';
import { scanLog } from './shared/log-reader';
import { startAuditedMarket, type AuditedMarket } from './testing/audited-market';
import { audit, auditChild } from './testing/run-audit';

/**
 * The first "done when": on a stack that ran a few hundred jobs (some refunded at their
 * deadline, some refunded with the provider's stake slashed), every audit command passes. Each
 * command's own spec (tools/audit/<command>/) proves it catches its tampering.
 */
const SETTLED = 200;
const DEADLINE_REFUNDED = 3;
const SLASHED = 2;

describe("the auditor's kit on a market that ran a few hundred jobs", () => {
  let m: AuditedMarket;
  const jobs = SETTLED + DEADLINE_REFUNDED + SLASHED;

  beforeAll(async () => {
    m = await startAuditedMarket({ settled: SETTLED, deadlineRefunded: DEADLINE_REFUNDED, slashed: SLASHED });
  }, 900_000);

  afterAll(async () => {
    await m?.stop();
  });

  const passes = (r: { code: number; summary: Record<string, unknown>; stderr: string }): void => {
    expect({ code: r.code, ok: r.summary.ok, firstDifference: r.summary.firstDifference, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, ok: true, firstDifference: undefined, stderr: '' });
  };

  it('replay: every read model rebuilt from the log equals the live one', async () => {
    const r = await audit(m.auditEnv, ['replay']);
    passes(r);
    const models = r.summary.models as Record<string, { tables: Record<string, { rows: number }> }>;
    expect(models['gateway.views'].tables.jobs.rows).toBe(jobs);
    expect(models['settlement.contracts'].tables.contracts.rows).toBe(jobs);
    expect(models['intake.intake-jobs'].tables.intake_jobs.rows).toBe(jobs);
  }, 300_000);

  it('matching: every JobMatched is what the engine gives', async () => {
    const r = await audit(m.auditEnv, ['matching']);
    passes(r);
    // a single matching instance records everything a decision needs: each one re-runs to the same node, price and receipt
    expect(r.summary).toMatchObject({ matches: jobs, rerunIdentical: jobs, pricesChecked: jobs, nodesChecked: jobs, rerunUnverifiable: {} });
  }, 300_000);

  it('chain: every escrow and every token movement agrees with the log', async () => {
    const r = await audit(m.auditEnv, ['chain']);
    passes(r);
    expect(r.summary).toMatchObject({ jobsChecked: jobs, slashes: SLASHED });
    expect(r.summary.transfersExplained).toBe(r.summary.transfers);
  }, 300_000);

  it('anchors and prove: every root is the root of its events; a slashed job\'s refund is proven', async () => {
    passes(await audit(m.auditEnv, ['anchors']));
    const log = m.market.log;
    let refund: { id: string } | undefined;
    await scanLog(log, {}, (batch) => {
      for (const msg of batch) {
        const e = decodeEvent(msg.data) as TradeEvent;
        if (!refund && e.type === 'ContractRefunded' && e.data.jobId === m.jobs.slashed[0]) refund = { id: e.id };
      }
    });
    const r = await audit(m.auditEnv, ['prove', refund!.id]);
    passes(r);
    expect(r.summary).toMatchObject({ merkleTree: true, chainVerifyEvent: true });
  }, 300_000);

  it('report: writes the providers, orgs and reputation as CSV and Parquet, and the page', async () => {
    const out = await mkdtemp(join(tmpdir(), 'audit-report-'));
    try {
      passes(await auditChild(m.auditEnv, ['report', '--out', out]));
      expect((await readdir(out)).sort()).toEqual(['orgs.csv', 'orgs.parquet', 'providers.csv', 'providers.parquet', 'report.html', 'reputation.csv', 'reputation.parquet']);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 300_000);
});
