import { AuditUsageError } from '../shared/config';
import { reportWindow } from './window';

describe('report window (--from, --to)', () => {
  it('is the whole log without either', () => {
    expect(reportWindow(undefined, undefined)).toEqual({ fromMs: Number.NEGATIVE_INFINITY, toMs: Number.POSITIVE_INFINITY, text: "the log's start to the log's end" });
  });

  it('reads dates as UTC days, --to taking in the whole of its day', () => {
    expect(reportWindow('2026-11-01', '2026-11-30')).toMatchObject({ fromMs: Date.parse('2026-11-01T00:00:00Z'), toMs: Date.parse('2026-12-01T00:00:00Z') });
  });

  it('reads date-times with their zone, --to exclusive as given', () => {
    expect(reportWindow('2026-11-01T12:00:00+02:00', '2026-11-01T12:30:00.250Z')).toMatchObject({ fromMs: Date.parse('2026-11-01T10:00:00Z'), toMs: Date.parse('2026-11-01T12:30:00.250Z') });
  });

  it.each([
    ['a date-time without a zone', '2026-11-01T12:00:00', undefined, /--from must be an ISO date/],
    ['a day that does not exist', '2026-02-30', undefined, /--from must be an ISO date/],
    ['another format', undefined, '30/11/2026', /--to must be an ISO date/],
    ['an empty window', '2026-11-02', '2026-11-01', /the window is empty/],
    ['a window of no time', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z', /the window is empty/],
  ])('refuses %s as a usage error', (_what, from, to, message) => {
    expect(() => reportWindow(from, to)).toThrow(AuditUsageError);
    expect(() => reportWindow(from, to)).toThrow(message);
  });
});
