import { TradeLogError } from './errors';

/**
 * The lease that gives one partition (of the matching engine, say) exactly one active writer: the
 * pure part. The record lives on one subject per partition (see partition-leases.ts); this file
 * decides what to write next, given the last record, what the replica wants and the time. Nothing
 * here reads a clock or talks to NATS.
 *
 * Safety rests on two rules that use the same record and the same allowance from both sides:
 * - another replica takes the lease only when `expiresAtMs + skewMs < now` (its clock);
 * - the holder stops (loses it locally) at `expiresAtMs - skewMs` (its clock).
 * Between them lies 2 x skewMs, so two clocks may differ by up to that much (or a timer fire late)
 * and the holder is still gone before anyone else starts. The epoch is the fencing token: it grows
 * on every take, so a writer that outlived its lease is told apart by a smaller epoch.
 */

/** How long a written lease lasts. Short enough that a dead replica's partitions move within seconds. */
export const LEASE_TTL_MS_DEFAULT = 3_000;
/** Shortest and longest TTL accepted: below, a GC pause or a slow NATS round trip ends leases; above, hand-over after a crash takes too long. */
export const LEASE_TTL_MS_MIN = 300;
export const LEASE_TTL_MS_MAX = 60_000;
/** The holder renews every TTL / LEASE_RENEW_DIVISOR, so two renewals can fail before it loses the lease. */
export const LEASE_RENEW_DIVISOR = 3;
/**
 * Clock difference between replicas (and timer lateness) allowed for, on each side of expiresAtMs:
 * the holder stops skewMs before it, others take it skewMs after it.
 */
export const LEASE_CLOCK_SKEW_MS_DEFAULT = 500;
/** The record's shape version (the subject outlives the code that writes it). */
export const LEASE_RECORD_VERSION = 1;
/** Holder and partition names are one NATS subject token of at most this many characters. */
export const LEASE_NAME_CHARS_MAX = 64;

const NAME = new RegExp(`^[A-Za-z0-9_-]{1,${LEASE_NAME_CHARS_MAX}}$`);

/** Whether `name` can be a replica, group or partition name (one subject token, no wildcards). */
export const isLeaseName = (name: string): boolean => NAME.test(name);

/** The last word on one partition's lease, as stored on its subject. */
export interface LeaseRecord {
  /** The replica that holds (or last held) it. */
  readonly holder: string;
  /** The fencing token: 1 for the first holder, one more on every take. */
  readonly epoch: number;
  /** Wall-clock time (ms since the epoch, the writer's clock) until which the lease stands. */
  readonly expiresAtMs: number;
  /** Given back by its holder (on shutdown, or to balance): free at once. */
  readonly released: boolean;
}

/** A lease's timing: how long one write lasts and the clock allowance on each side of its end. */
export interface LeaseTiming {
  readonly ttlMs: number;
  readonly skewMs: number;
}

export const LEASE_TIMING_DEFAULT: LeaseTiming = { ttlMs: LEASE_TTL_MS_DEFAULT, skewMs: LEASE_CLOCK_SKEW_MS_DEFAULT };

/** What a replica wants of one partition. `epoch` is the one it believes it holds. */
export type LeaseWish =
  | { readonly kind: 'acquire'; readonly replica: string }
  | { readonly kind: 'renew'; readonly replica: string; readonly epoch: number }
  | { readonly kind: 'release'; readonly replica: string; readonly epoch: number };

/** Why a renewal was refused: the holder stops writing for that epoch. */
export type LeaseLossReason = 'missing' | 'taken' | 'released' | 'expired';

/** What to do: write `record` (take, renew, release), or write nothing (wait, lost, none). */
export type LeaseDecision =
  | { readonly kind: 'take'; readonly record: LeaseRecord }
  | { readonly kind: 'renew'; readonly record: LeaseRecord }
  | { readonly kind: 'release'; readonly record: LeaseRecord }
  /** Someone else holds it: ask again at retryAtMs (when it would expire, unless renewed). */
  | { readonly kind: 'wait'; readonly holder: string; readonly epoch: number; readonly retryAtMs: number }
  /** A renewal that must not happen: the epoch is over for this replica. */
  | { readonly kind: 'lost'; readonly reason: LeaseLossReason }
  /** A release of a lease this replica does not hold: nothing to write. */
  | { readonly kind: 'none' };

/** A record that is not a lease (written by something else, or a newer shape this code cannot read). */
export class LeaseRecordError extends TradeLogError {
  override readonly name = 'LeaseRecordError';
  readonly code = 'LEASE_RECORD_INVALID';
}

/** Free for anyone: no record, given back, or past its end by more than the skew allowance. */
export function leaseIsFree(last: LeaseRecord | undefined, nowMs: number, timing: LeaseTiming): boolean {
  return last === undefined || last.released || last.expiresAtMs + timing.skewMs < nowMs;
}

/** When the holder of `record` must consider it lost (its own clock): skewMs before its end. */
export const leaseDeadlineMs = (record: LeaseRecord, timing: LeaseTiming): number => record.expiresAtMs - timing.skewMs;

/**
 * Decides one step of a partition's lease. Pure: the caller reads `last` (undefined when the subject
 * is empty), passes its clock's `nowMs`, and writes the record of a take / renew / release expecting
 * the subject's sequence it read, so that of two replicas deciding on the same record one wins.
 */
export function decideLease(last: LeaseRecord | undefined, wish: LeaseWish, nowMs: number, timing: LeaseTiming = LEASE_TIMING_DEFAULT): LeaseDecision {
  switch (wish.kind) {
    case 'acquire': {
      // Held by this replica (a renewal that landed after it had given the epoch up): nobody else
      // can hold it, so it takes it again, as a new epoch: the old one was announced lost.
      if (leaseIsFree(last, nowMs, timing) || last?.holder === wish.replica) {
        const epoch = (last?.epoch ?? 0) + 1;
        return { kind: 'take', record: { holder: wish.replica, epoch, expiresAtMs: nowMs + timing.ttlMs, released: false } };
      }
      const held = last as LeaseRecord;
      return { kind: 'wait', holder: held.holder, epoch: held.epoch, retryAtMs: held.expiresAtMs + timing.skewMs + 1 };
    }
    case 'renew': {
      if (last === undefined) return { kind: 'lost', reason: 'missing' };
      if (last.holder !== wish.replica || last.epoch !== wish.epoch) return { kind: 'lost', reason: 'taken' };
      if (last.released) return { kind: 'lost', reason: 'released' };
      // Past its own deadline the holder has stopped already; renewing would revive a dead epoch.
      if (nowMs >= leaseDeadlineMs(last, timing)) return { kind: 'lost', reason: 'expired' };
      return { kind: 'renew', record: { ...last, expiresAtMs: nowMs + timing.ttlMs } };
    }
    case 'release': {
      if (last === undefined || last.holder !== wish.replica || last.epoch !== wish.epoch || last.released) return { kind: 'none' };
      return { kind: 'release', record: { ...last, expiresAtMs: nowMs, released: true } };
    }
    default: {
      const never: never = wish;
      throw new LeaseRecordError(`unknown lease wish ${JSON.stringify(never)}`);
    }
  }
}

/** Checks the timing a replica runs with: the holder must get two renewal attempts inside its own validity. */
export function assertLeaseTiming(timing: LeaseTiming, renewIntervalMs: number): void {
  const { ttlMs, skewMs } = timing;
  if (!Number.isSafeInteger(ttlMs) || ttlMs < LEASE_TTL_MS_MIN || ttlMs > LEASE_TTL_MS_MAX) {
    throw new LeaseRecordError(`lease TTL must be an integer from ${LEASE_TTL_MS_MIN} to ${LEASE_TTL_MS_MAX} ms, not ${String(ttlMs)}`);
  }
  if (!Number.isSafeInteger(skewMs) || skewMs < 0) throw new LeaseRecordError(`clock skew allowance must be a non-negative integer, not ${String(skewMs)}`);
  if (!Number.isSafeInteger(renewIntervalMs) || renewIntervalMs < 1 || 2 * renewIntervalMs > ttlMs - skewMs) {
    throw new LeaseRecordError(`renew interval ${String(renewIntervalMs)} ms leaves no second attempt inside TTL ${ttlMs} - skew ${skewMs} ms`);
  }
}

/** The stored form: JSON with the shape version. */
export function encodeLeaseRecord(record: LeaseRecord): Uint8Array {
  return Buffer.from(JSON.stringify({ v: LEASE_RECORD_VERSION, ...record }), 'utf8');
}

/** Reads a stored record; a body that is not one is LeaseRecordError (nobody overwrites what it cannot read). */
export function decodeLeaseRecord(data: Uint8Array): LeaseRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch (cause) {
    throw new LeaseRecordError('lease record is not JSON', { cause });
  }
  const r = raw as { v?: unknown; holder?: unknown; epoch?: unknown; expiresAtMs?: unknown; released?: unknown };
  if (
    typeof raw !== 'object' ||
    raw === null ||
    r.v !== LEASE_RECORD_VERSION ||
    typeof r.holder !== 'string' ||
    !isLeaseName(r.holder) ||
    !Number.isSafeInteger(r.epoch) ||
    (r.epoch as number) < 1 ||
    !Number.isSafeInteger(r.expiresAtMs) ||
    typeof r.released !== 'boolean'
  ) {
    throw new LeaseRecordError(`not a lease record of version ${LEASE_RECORD_VERSION}: ${JSON.stringify(raw).slice(0, 200)}`);
  }
  return { holder: r.holder, epoch: r.epoch as number, expiresAtMs: r.expiresAtMs as number, released: r.released };
}
