import {
  assertLeaseTiming,
  decideLease,
  decodeLeaseRecord,
  encodeLeaseRecord,
  leaseDeadlineMs,
  leaseIsFree,
  LeaseRecordError,
  type LeaseDecision,
  type LeaseRecord,
  type LeaseTiming,
  type LeaseWish,
} from './lease';

const TIMING: LeaseTiming = { ttlMs: 3_000, skewMs: 500 };
const T0 = 1_700_000_000_000;
const ME = 'replica-a';
const OTHER = 'replica-b';

/** Given the last record on the partition (none: undefined), when a wish at nowMs, then this decision. */
const given = (last: LeaseRecord | undefined) => ({
  when: (wish: LeaseWish, nowMs: number) => ({
    then: (expected: LeaseDecision) => expect(decideLease(last, wish, nowMs, TIMING)).toEqual(expected),
  }),
});

const held = (holder: string, epoch: number, expiresAtMs: number): LeaseRecord => ({ holder, epoch, expiresAtMs, released: false });
const released = (holder: string, epoch: number, atMs: number): LeaseRecord => ({ holder, epoch, expiresAtMs: atMs, released: true });
const acquire: LeaseWish = { kind: 'acquire', replica: ME };
const renew = (epoch: number): LeaseWish => ({ kind: 'renew', replica: ME, epoch });
const release = (epoch: number): LeaseWish => ({ kind: 'release', replica: ME, epoch });

describe('decideLease: acquire', () => {
  it('takes a partition nobody ever held, as epoch 1, for one TTL', () => {
    given(undefined).when(acquire, T0).then({ kind: 'take', record: held(ME, 1, T0 + 3_000) });
  });

  it('takes a released lease at once, one epoch up, whatever its expiry said', () => {
    given(released(OTHER, 4, T0 + 2_000)).when(acquire, T0).then({ kind: 'take', record: held(ME, 5, T0 + 3_000) });
  });

  it('takes an expired lease only once it is past its end by more than the skew allowance', () => {
    given(held(OTHER, 7, T0)).when(acquire, T0 + 501).then({ kind: 'take', record: held(ME, 8, T0 + 501 + 3_000) });
  });

  it('waits on a lease past its end but inside the skew allowance (its holder may still be acting), until just after it', () => {
    given(held(OTHER, 7, T0)).when(acquire, T0 + 500).then({ kind: 'wait', holder: OTHER, epoch: 7, retryAtMs: T0 + 501 });
  });

  it('waits on a lease another replica holds, until its end plus the skew allowance', () => {
    given(held(OTHER, 2, T0 + 2_000)).when(acquire, T0).then({ kind: 'wait', holder: OTHER, epoch: 2, retryAtMs: T0 + 2_501 });
  });

  it('takes its own still valid record again as a new epoch (a renewal that landed after it had given the epoch up)', () => {
    given(held(ME, 3, T0 + 2_000)).when(acquire, T0).then({ kind: 'take', record: held(ME, 4, T0 + 3_000) });
  });
});

describe('decideLease: renew', () => {
  it('extends a lease it holds, same epoch, one TTL from now', () => {
    given(held(ME, 3, T0 + 2_000)).when(renew(3), T0 + 1_000).then({ kind: 'renew', record: held(ME, 3, T0 + 4_000) });
  });

  it('refuses once its own deadline (end minus skew) has passed: the holder has stopped, the epoch is over', () => {
    given(held(ME, 3, T0 + 2_000)).when(renew(3), T0 + 1_500).then({ kind: 'lost', reason: 'expired' });
  });

  it('refuses when another replica holds it now', () => {
    given(held(OTHER, 4, T0 + 3_000)).when(renew(3), T0).then({ kind: 'lost', reason: 'taken' });
  });

  it('refuses an epoch of its own that is not the current one', () => {
    given(held(ME, 5, T0 + 3_000)).when(renew(3), T0).then({ kind: 'lost', reason: 'taken' });
  });

  it('refuses a lease it has released', () => {
    given(released(ME, 3, T0)).when(renew(3), T0).then({ kind: 'lost', reason: 'released' });
  });

  it('refuses when the partition has no record at all', () => {
    given(undefined).when(renew(1), T0).then({ kind: 'lost', reason: 'missing' });
  });
});

describe('decideLease: release', () => {
  it('writes its lease as released now, same epoch, so the next holder need not wait for the TTL', () => {
    given(held(ME, 3, T0 + 2_000)).when(release(3), T0).then({ kind: 'release', record: released(ME, 3, T0) });
  });

  it('writes nothing for a lease another replica holds', () => {
    given(held(OTHER, 4, T0 + 2_000)).when(release(3), T0).then({ kind: 'none' });
  });

  it('writes nothing for an older epoch of its own, a lease released already, or no record', () => {
    given(held(ME, 4, T0 + 2_000)).when(release(3), T0).then({ kind: 'none' });
    given(released(ME, 3, T0)).when(release(3), T0 + 10).then({ kind: 'none' });
    given(undefined).when(release(1), T0).then({ kind: 'none' });
  });
});

describe('the two sides of the skew allowance', () => {
  it('puts 2 x skew between the holder stopping and anyone else taking over', () => {
    const record = held(OTHER, 1, T0 + 3_000);
    const holderStopsAt = leaseDeadlineMs(record, TIMING);
    expect(holderStopsAt).toBe(T0 + 2_500);
    expect(leaseIsFree(record, T0 + 3_500, TIMING)).toBe(false);
    expect(leaseIsFree(record, T0 + 3_501, TIMING)).toBe(true);
  });

  it('gives every change of holder a larger epoch, along any history', () => {
    let last: LeaseRecord | undefined;
    const replicas = ['a', 'b', 'c'];
    const epochs: number[] = [];
    for (let i = 0; i < 30; i += 1) {
      const now = T0 + i * 4_000; // each lease has expired (3 s TTL + 0.5 s skew) by the next step
      const d = decideLease(last, { kind: 'acquire', replica: replicas[i % 3] }, now, TIMING);
      if (d.kind !== 'take') throw new Error(`step ${i}: ${d.kind}`);
      epochs.push(d.record.epoch);
      last = i % 2 === 0 ? d.record : released(d.record.holder, d.record.epoch, now);
    }
    expect(epochs).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });
});

describe('assertLeaseTiming', () => {
  it('accepts the defaults: TTL 3 s, renew every 1 s, skew 0.5 s', () => {
    expect(() => assertLeaseTiming(TIMING, 1_000)).not.toThrow();
  });

  it('refuses a renew interval that leaves no second attempt before the holder must stop', () => {
    expect(() => assertLeaseTiming(TIMING, 1_300)).toThrow(LeaseRecordError);
  });

  it('refuses a TTL outside its bounds and a negative skew', () => {
    expect(() => assertLeaseTiming({ ttlMs: 100, skewMs: 0 }, 10)).toThrow(LeaseRecordError);
    expect(() => assertLeaseTiming({ ttlMs: 600_000, skewMs: 0 }, 10)).toThrow(LeaseRecordError);
    expect(() => assertLeaseTiming({ ttlMs: 3_000, skewMs: -1 }, 1_000)).toThrow(LeaseRecordError);
  });
});

describe('the stored record', () => {
  it('reads back what it wrote', () => {
    const record = held(ME, 9, T0);
    expect(decodeLeaseRecord(encodeLeaseRecord(record))).toEqual(record);
  });

  it('refuses what is not a lease record of its version, rather than overwrite it', () => {
    const bytes = (x: unknown): Uint8Array => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x));
    expect(() => decodeLeaseRecord(bytes('not json'))).toThrow(LeaseRecordError);
    expect(() => decodeLeaseRecord(bytes({ v: 2, holder: ME, epoch: 1, expiresAtMs: T0, released: false }))).toThrow(LeaseRecordError);
    expect(() => decodeLeaseRecord(bytes({ v: 1, holder: ME, epoch: 0, expiresAtMs: T0, released: false }))).toThrow(LeaseRecordError);
    expect(() => decodeLeaseRecord(bytes({ v: 1, holder: 'a.b', epoch: 1, expiresAtMs: T0, released: false }))).toThrow(LeaseRecordError);
    expect(() => decodeLeaseRecord(bytes({ v: 1, holder: ME, epoch: 1, expiresAtMs: T0 }))).toThrow(LeaseRecordError);
  });
});
