import { Registry } from 'prom-client';
import { DomainError } from '@starminer/domain';
import { chainActionLabel, outcomeOf, ServiceMetrics, subjectFamily } from './metrics';

/** One series' value; a histogram's _sum/_count are values of the histogram's own entry. */
const valueOf = async (registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> => {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name || m.name === name.replace(/_(sum|count|bucket)$/, ''));
  const values = metric?.values as { value: number; labels: Record<string, unknown>; metricName?: string }[] | undefined;
  return values?.find((v) => (v.metricName ?? metric!.name) === name && Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
};

describe('the edge metrics: labels stay bounded', () => {
  it('names a chain action by what it does, never with the job id libs/chain appends to it', () => {
    expect(chainActionLabel('openComputeContract')).toBe('open');
    expect(chainActionLabel('openComputeContractsBatch')).toBe('open');
    expect(chainActionLabel('releaseComputeContract 0190aa-job')).toBe('release');
    expect(chainActionLabel('refundComputeContract 0190aa-job')).toBe('refund');
    expect(chainActionLabel('disputeComputeContract')).toBe('dispute');
    expect(chainActionLabel('slashStake 0190aa-job')).toBe('slash');
    expect(chainActionLabel('mintAgpuOnce faucet-1')).toBe('mint');
    expect(chainActionLabel('postAnchor')).toBe('anchor');
    expect(chainActionLabel('withdrawVault')).toBe('other');
  });

  it('labels a subject by its aggregate kind and an error by its code or class', () => {
    expect(subjectFamily('trade.job.0190aa')).toBe('job');
    expect(outcomeOf(new DomainError('JOB_NOT_FOUND', 'x'))).toBe('JOB_NOT_FOUND');
    expect(outcomeOf(new TypeError('x'))).toBe('TypeError');
    expect(outcomeOf({ code: 'not a label value; DROP' })).toBe('error');
    expect(outcomeOf(undefined)).toBe('error');
  });

  it('counts what an append stored before it failed, and the rest as the failure', async () => {
    const registry = new Registry();
    const m = new ServiceMetrics(registry);
    const failure = Object.assign(new Error('timeout'), { name: 'AppendFailedError' });
    m.onAppend({ subject: 'trade.job.j1', types: ['JobQueued', 'JobMatched'], results: [{ seq: 7, duplicate: false }], seconds: 0.01, error: failure });
    m.onAppend({ subject: 'trade.job.j1', types: ['JobQueued'], results: [{ seq: 7, duplicate: true }], seconds: 0.002 });
    expect(await valueOf(registry, 'starminer_log_appended_events_total', { family: 'job', type: 'JobQueued', outcome: 'stored' })).toBe(1);
    expect(await valueOf(registry, 'starminer_log_appended_events_total', { family: 'job', type: 'JobQueued', outcome: 'duplicate' })).toBe(1);
    expect(await valueOf(registry, 'starminer_log_appended_events_total', { family: 'job', type: 'JobMatched', outcome: 'AppendFailedError' })).toBe(1);
  });

  it('counts a reverted transaction as a failure of its action, with its gas', async () => {
    const registry = new Registry();
    const m = new ServiceMetrics(registry);
    m.onChainTx({ action: 'releaseComputeContract j1', hash: '0x01', seconds: 0.3, gasUsed: 90_000n, blockNumber: 5n });
    m.onChainTx({ action: 'refundComputeContract j2', hash: '0x02', seconds: 0.2, gasUsed: 40_000n, blockNumber: 6n, error: Object.assign(new Error('reverted'), { code: 'TransactionReverted' }) });
    expect(await valueOf(registry, 'starminer_chain_tx_failures_total', { action: 'refund', reason: 'TransactionReverted' })).toBe(1);
    expect(await valueOf(registry, 'starminer_chain_tx_failures_total', { action: 'release' })).toBeUndefined();
    expect(await valueOf(registry, 'starminer_chain_tx_gas_used_sum', { action: 'release' })).toBe(90_000);
  });
});
