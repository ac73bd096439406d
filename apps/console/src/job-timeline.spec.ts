import type { JobUpdate } from '@starminer/sdk';
import { lastStreamSeq, laterStatus, mergeUpdates, statusRank } from './job-timeline';

const u = (seq: string, status: JobUpdate['status'], at: string, eventId = `e${seq}`): JobUpdate => ({ seq, eventId, type: `job.${status}` as JobUpdate['type'], jobId: 'j', status, at });

describe('job timeline', () => {
  it('ranks statuses along the way', () => {
    expect(statusRank('queued')).toBeLessThan(statusRank('running'));
    expect(statusRank('settled')).toBe(statusRank('failed'));
    expect(statusRank('new-thing')).toBe(-1);
  });
  it('moves the shown status forward only, and never off a final one', () => {
    expect(laterStatus(undefined, 'queued')).toBe('queued');
    expect(laterStatus('running', 'matched')).toBe('running');
    expect(laterStatus('running', 'settled')).toBe('settled');
    expect(laterStatus('settled', 'failed')).toBe('settled');
  });
  it('merges history and the watch without repeats, in log order', () => {
    const history = [u('3', 'queued', '2026-11-28T10:00:00Z'), u('9', 'matched', '2026-11-28T10:00:01Z')];
    const live = [u('9', 'matched', '2026-11-28T10:00:01Z'), u('12', 'contracted', '2026-11-28T10:00:02Z'), u('10', 'matched', '2026-11-28T10:00:01.5Z')];
    expect(mergeUpdates(history, live).map((x) => x.seq)).toEqual(['3', '9', '10', '12']);
  });
  it('places polled updates (seq 0) by time', () => {
    const merged = mergeUpdates([u('3', 'queued', '2026-11-28T10:00:00Z')], [u('0', 'settled', '2026-11-28T10:05:00Z', 'poll:j:settled')]);
    expect(merged.map((x) => x.status)).toEqual(['queued', 'settled']);
  });
  it('finds the last stream seq, ignoring polled ones', () => {
    expect(lastStreamSeq([u('3', 'queued', 'x'), u('12', 'running', 'x'), u('0', 'settled', 'x', 'p')])).toBe('12');
    expect(lastStreamSeq([])).toBeUndefined();
  });
});
