import { ServiceRuntime } from '@starminer/service-kit';
import { audit } from '../testing/run-audit';
import { startAuditedMarket, type AuditedMarket } from '../testing/audited-market';

describe('audit replay: the read models rebuilt from the log with the services\' own code', () => {
  let m: AuditedMarket;

  beforeAll(async () => {
    m = await startAuditedMarket({ settled: 4, deadlineRefunded: 1, slashed: 1 });
  }, 300_000);

  afterAll(async () => {
    await m?.stop();
  });

  it("equals every service's live read model at its checkpoint", async () => {
    const { code, summary, stderr } = await audit(m.auditEnv, ['replay']);
    expect({ code, firstDifference: summary.firstDifference, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, firstDifference: undefined, stderr: '' });
    expect(summary).toMatchObject({ audit: 'replay', ok: true, differences: 0, parked: 0, undecodable: 0, compared: true });
    const models = summary.models as Record<string, { checkpoint: number; tables: Record<string, { rows: number }> }>;
    expect(Object.keys(models).sort()).toEqual(['deployer.deployer-opens', 'deployer.deployer-reassigns', 'deployer.deployer-top-ups', 'deployer.deployer-vaults', 'deployer.faucet-mints', 'gateway.views', 'gateway.webhooks', 'intake.intake-jobs', 'intake.intake-vaults', 'registry.nodes', 'settlement.contracts']);
    const jobs = 4 + 1 + 1;
    expect(models['gateway.views'].tables.jobs.rows).toBe(jobs);
    expect(models['settlement.contracts'].tables.contracts.rows).toBe(jobs);
    expect(models['registry.nodes'].tables.nodes.rows).toBe(4);
    expect(models['gateway.views'].checkpoint).toBeGreaterThan(0);
  }, 180_000);

  it('names the table and the first differing row when one row of a live read model was changed', async () => {
    const jobId = m.jobs.settled[1]!;
    await m.market.gateway.get(ServiceRuntime).db.query(`UPDATE gateway.jobs SET "costWei" = "costWei" + 1 WHERE "jobId" = $1`, [jobId]);
    const { code, summary, differences } = await audit(m.auditEnv, ['replay', '--service', 'gateway']);
    expect(code).toBe(1);
    expect(String(summary.firstDifference)).toMatch(/^gateway\.views\.jobs: live 6 rows .* first differing row \d+$/);
    const d = differences[0] as { expected: Record<string, string>; actual: Record<string, string> };
    expect(Object.keys(d.actual)).toEqual(['costWei']);
    expect(BigInt(d.actual.costWei)).toBe(BigInt(d.expected.costWei) + 1n);
  }, 180_000);
});
