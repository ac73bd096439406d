import { EXAMPLE_EVENT_DATA, type TradeEvent } from '@starminer/events';
import { vaultJobEnd } from './vault-job-ends.consumer';

/** What a vault's job drew, from its job and contract subjects (the consumer's rule; pure). */
const AGPU = 10n ** 18n;
const JOB = 'vj_1';
const ev = (type: string, data: Record<string, unknown>): TradeEvent => ({ type, data: { jobId: JOB, ...data } }) as unknown as TradeEvent;
const submitted = (vault: boolean) => ev('JobSubmitted', { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId: JOB, ...(vault ? { vault: { vaultId: 'vault-1', firingId: 'vf_1', specHash: `0x${'aa'.repeat(32)}` } } : { vault: undefined }) });
const matched = ev('JobMatched', {});
const opened = (escrowWei: bigint) => ev('ContractOpened', { escrowWei });
const openFailed = ev('ContractOpenFailed', { code: 'CapExceeded', reason: 'x' });

describe('vaultJobEnd', () => {
  it("is nothing for a job that is not a vault's", () => {
    expect(vaultJobEnd([submitted(false)], [opened(AGPU)])).toBe('not-a-vault-job');
  });

  it('is the escrow once opened (refunds and top-ups do not touch the vault), 0 when the open failed or there was none', () => {
    expect(vaultJobEnd([submitted(true), matched, ev('JobCancelled', { reason: 'x' })], [opened(2n * AGPU), ev('ContractRefunded', {})])).toEqual({ vaultId: 'vault-1', drawnWei: 2n * AGPU });
    expect(vaultJobEnd([submitted(true), matched], [openFailed])).toEqual({ vaultId: 'vault-1', drawnWei: 0n });
    expect(vaultJobEnd([submitted(true), ev('JobCancelled', { reason: 'x' })], [])).toEqual({ vaultId: 'vault-1', drawnWei: 0n });
  });

  it('waits while an open of a cancelled or failed job may still land', () => {
    expect(vaultJobEnd([submitted(true), matched, ev('JobFailed', { code: 'X', reason: 'x' })], [])).toBe('open-in-flight');
    expect(vaultJobEnd([submitted(true), matched, matched, ev('JobCancelled', { reason: 'x' })], [openFailed])).toBe('open-in-flight');
  });
});
