import Table from 'cli-table3';
import { formatAgpu } from '@starminer/sdk';

/**
 * JSON as `--json` prints it: the SDK's answer as it is, bigints as decimal strings (the API's own
 * form); indented, or `compact` on one line (one update per line as `jobs watch` streams them).
 */
export function toJson(value: unknown, opts: { compact?: boolean } = {}): string {
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), opts.compact ? undefined : 2);
  // JSON.stringify escapes C0 but writes DEL and C1 (U+0080-U+009F, which some terminals obey) raw:
  // they can only be inside strings, and `\u009b` there is the same JSON value, so escape them too
  return text.replace(/[\u007f-\u009f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The control characters a terminal may act on: C0 (NUL..US, with ESC, CR, BEL, backspace), DEL
 * and C1 (U+0080-U+009F, CSI among them). Text from the gateway (a job's output, a failure
 * reason, a waiting reason, names) goes through `printable` before a person's terminal sees it.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const escapeControl = (ch: string): string => NAMED[ch] ?? `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** One value for a person's terminal: every control character shown as an escape (`\x1b`, `\n`), so it stays on its line and cannot drive the terminal. */
export function printable(text: string): string {
  return text.replace(CONTROL, escapeControl);
}

/** Text of several lines for a person's terminal: its newlines kept, every other control character escaped (the last guard before stdout/stderr). */
export function printableLines(text: string): string {
  return text.replace(CONTROL_BUT_NEWLINE, escapeControl);
}

/** What a table cell or a field shows for a value the answer leaves out or sets to null. */
export const NONE = '-';

/** An amount for people: AGPU with as many decimals as it has (exact, never a float), e.g. `1.5 AGPU`. */
export function agpu(wei: string | bigint | null | undefined): string {
  if (wei === null || wei === undefined) return NONE;
  try {
    return `${formatAgpu(typeof wei === 'bigint' ? wei : BigInt(wei))} AGPU`;
  } catch {
    return String(wei); // not an amount the API would send: show it as it came rather than hide it
  }
}

/** A multiplier in basis points as a factor: 12500 → `x1.25`. */
export function bps(value: number | null | undefined): string {
  if (value === null || value === undefined) return NONE;
  return `x${(value / 10_000).toFixed(4).replace(/\.?0+$/, '')}`;
}

/** A duration in seconds, the way people say it: `45s`, `2m 5s`, `3h 10m`. */
export function duration(sec: number | null | undefined): string {
  if (sec === null || sec === undefined) return NONE;
  const s = Math.max(0, Math.round(sec));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? ` ${s % 60}s` : ''}`;
  const m = Math.floor((s % 3600) / 60);
  return `${Math.floor(s / 3600)}h${m ? ` ${m}m` : ''}`;
}

/** An ISO instant to the second, in UTC as the API gives it (`2026-11-24 12:00:05Z`). */
export function instant(iso: string | null | undefined): string {
  if (!iso) return NONE;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? printable(iso) : `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** A table cell: `-` for nothing, control characters escaped (a newline in a cell would break the row in two). */
export const cell = (v: unknown): string => (v === null || v === undefined || v === '' ? NONE : printable(String(v)));

/**
 * Columns as `ps` or `kubectl get` print them: a header, no borders, two spaces between columns,
 * so the output reads in a terminal and splits with awk. No colours: the same bytes on a TTY and in a pipe.
 */
export function table(head: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const t = new Table({
    head: [...head],
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
      bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
    },
    style: { 'padding-left': 0, 'padding-right': 0, head: [], border: [], compact: true },
  });
  for (const r of rows) t.push(r.map(cell));
  return t
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}

/** `key  value` lines, keys aligned; entries whose value is undefined are left out; control characters in a value escaped (one line each). */
export function fields(entries: readonly (readonly [string, string | undefined])[]): string {
  const shown = entries.filter((e): e is readonly [string, string] => e[1] !== undefined);
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${k.padEnd(width)}  ${printable(v)}`).join('\n');
}
