/**
 * How the console writes amounts, times, durations and statuses. Plain functions, no DOM, no
 * React: jest checks them (format.spec.ts). Amounts are bigint base units (wei, 18 decimals), read
 * from the API's decimal strings and never through a float; only chart coordinates become numbers
 * (agpuNumber), and every chart has its exact figures in a text table beside it.
 */
import { formatAgpu } from '@starminer/sdk';

const WEI_PER_AGPU = 10n ** 18n;
const WEI_TEXT = /^-?[0-9]{1,80}$/;

/** An amount of wei from the API's decimal string (or a bigint); throws on anything else. */
export function toWei(value: string | bigint): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value !== 'string' || !WEI_TEXT.test(value)) throw new TypeError(`not an amount of wei: ${JSON.stringify(value)}`);
  return BigInt(value);
}

const group = (digits: string): string => digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/**
 * AGPU for reading: rounded half away from zero to `decimals` places (default 4), the whole part
 * grouped by thousands, trailing zeros dropped: `1234567890000000000000n` → `1,234.56789` at 5.
 * A nonzero amount that rounds to zero says so (`<0.0001`). `formatAgpuExact` gives every digit.
 */
export function formatAgpuAmount(value: string | bigint, decimals = 4): string {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 18) throw new RangeError(`decimals must be 0..18, got ${decimals}`);
  const wei = toWei(value);
  const negative = wei < 0n;
  const abs = negative ? -wei : wei;
  const unit = 10n ** BigInt(18 - decimals);
  const rounded = (abs + unit / 2n) / unit; // in units of 10^-decimals AGPU
  if (rounded === 0n && abs !== 0n) return `${negative ? '>-' : '<'}${decimals === 0 ? '1' : `0.${'0'.repeat(decimals - 1)}1`}`;
  const scale = 10n ** BigInt(decimals);
  const whole = group((rounded / scale).toString());
  const fraction = decimals === 0 ? '' : (rounded % scale).toString().padStart(decimals, '0').replace(/0+$/, '');
  return `${negative && rounded !== 0n ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** Every digit of an AGPU amount (the SDK's formatAgpu): for titles and tables that must be exact. */
export const formatAgpuExact = (value: string | bigint): string => formatAgpu(toWei(value));

/** `12.5 AGPU` */
export const agpu = (value: string | bigint, decimals = 4): string => `${formatAgpuAmount(value, decimals)} AGPU`;

/**
 * An amount as a chart coordinate in AGPU (a float, 9 decimals kept): for drawing only, never for
 * arithmetic or display of exact amounts.
 */
export function agpuNumber(value: string | bigint): number {
  const wei = toWei(value);
  const nano = wei / 10n ** 9n; // exact to 1e-9 AGPU, then a float
  return Number(nano) / 1e9;
}

/** The sum of amounts, exact. */
export const sumWei = (values: readonly (string | bigint)[]): bigint => values.reduce<bigint>((s, v) => s + toWei(v), 0n);

/** Basis points of a multiplier (10,000 = 1.0) as `×1.25`. */
export function formatMultiplierBps(bps: number): string {
  if (!Number.isFinite(bps)) return '—';
  return `×${(bps / 10_000).toFixed(4).replace(/\.?0+$/, '')}`;
}

/** Basis points of a share (10,000 = 100%) as `62.5%`. */
export function formatPercentBps(bps: number | null | undefined): string {
  if (bps === null || bps === undefined || !Number.isFinite(bps)) return '—';
  return `${(bps / 100).toFixed(2).replace(/\.?0+$/, '')}%`;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** An ISO instant as `2026-11-28 15:04:05 UTC` (UTC, so every reader sees the same text); `—` when absent or unreadable. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
}

/** The clock part only, `15:04:05`, for chart axes. */
export function formatClock(iso: string | number): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** Seconds as `45 s`, `3 min 20 s`, `2 h 5 min`, `3 d 4 h`; `—` when absent. */
export function formatDurationSec(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec) || sec < 0) return '—';
  const s = Math.round(sec);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
  return `${Math.floor(s / 86_400)} d${Math.floor((s % 86_400) / 3600) ? ` ${Math.floor((s % 86_400) / 3600)} h` : ''}`;
}

/** `0x1234…cdef` for a hash or address (the whole one goes in a title). */
export function shortHex(hex: string | null | undefined, keep = 6): string {
  if (!hex) return '—';
  return hex.length <= keep * 2 + 3 ? hex : `${hex.slice(0, keep + 2)}…${hex.slice(-keep)}`;
}

export type StatusTone = 'waiting' | 'active' | 'good' | 'bad' | 'neutral';

/** How a job status reads at a glance (a colour class and a word, never colour alone). */
export function statusTone(status: string): StatusTone {
  switch (status) {
    case 'queued':
      return 'waiting';
    case 'matched':
    case 'contracted':
    case 'running':
    case 'completed':
      return 'active';
    case 'settled':
      return 'good';
    case 'refunded':
    case 'failed':
      return 'bad';
    case 'cancelled':
      return 'neutral';
    default:
      return 'neutral';
  }
}

const FINAL = new Set(['settled', 'refunded', 'failed', 'cancelled']);
export const isFinalStatus = (status: string): boolean => FINAL.has(status);

/** `ai-training` → `AI training`, `hash-chain` → `Hash chain`: a code as words. */
export function humanize(code: string): string {
  const words = code.replace(/[-_.]+/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2').trim().toLowerCase();
  const fixed = words.replace(/\bai\b/g, 'AI').replace(/\bgpu(s?)\b/g, 'GPU$1').replace(/\bvram\b/g, 'VRAM').replace(/\btee\b/g, 'TEE');
  return fixed.charAt(0).toUpperCase() + fixed.slice(1);
}

/** A score term in 0..1 as `0.830`. */
export const formatScore = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(3));

/** Wei per GPU-hour as `2.5 AGPU/GPU-h`. */
export const pricePerGpuHour = (wei: string | bigint): string => `${formatAgpuAmount(wei, 4)} AGPU/GPU-h`;

export { WEI_PER_AGPU };
