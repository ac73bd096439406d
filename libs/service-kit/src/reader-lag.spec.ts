import { readerLagSeconds } from './runtime';

/** starminer_reader_lag_seconds: how far behind in time, not how long since the last event. */
describe('reader lag in seconds', () => {
  const now = 10_000_000;
  it('is 0 when caught up, however old the last applied event (a quiet market)', () => {
    expect(readerLagSeconds({ lag: 0, lastEventAtMs: now - 3_600_000 }, now)).toBe(0);
  });
  it('while behind, is the age of the oldest event held unapplied, not of the last applied one', () => {
    // a quiet hour, then a burst: the batch in hand is 2 s old
    expect(readerLagSeconds({ lag: 5, lastEventAtMs: now - 3_600_000, oldestUnappliedAtMs: now - 2_000 }, now)).toBe(2);
  });
  it('between batches, falls back to the age of the last applied event', () => {
    expect(readerLagSeconds({ lag: 5, lastEventAtMs: now - 7_000 }, now)).toBe(7);
  });
  it('is 0 when nothing is known (behind, but no event seen yet); the lag in events still says it', () => {
    expect(readerLagSeconds({ lag: 5 }, now)).toBe(0);
  });
});
