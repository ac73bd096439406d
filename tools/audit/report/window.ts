import { AuditUsageError } from '../shared/config';
import type { ReportWindow } from './fold';

const DAY_MS = 86_400_000;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * `--from` and `--to` as the window `[fromMs, toMs)`: an ISO date-time with its zone, or a date
 * (UTC), where `--to 2026-11-30` takes in the whole of that day. Absent: the log's start, its end.
 */
export function reportWindow(from: string | undefined, to: string | undefined): ReportWindow & { readonly text: string } {
  const fromMs = from === undefined ? Number.NEGATIVE_INFINITY : instantMs('--from', from);
  const toMs = to === undefined ? Number.POSITIVE_INFINITY : instantMs('--to', to) + (DATE_ONLY.test(to) ? DAY_MS : 0);
  if (!(fromMs < toMs)) throw new AuditUsageError(`the window is empty: --from ${from} is not before --to ${to}`);
  const text = `${Number.isFinite(fromMs) ? new Date(fromMs).toISOString() : "the log's start"} to ${Number.isFinite(toMs) ? `${new Date(toMs).toISOString()} (exclusive)` : "the log's end"}`;
  return { fromMs, toMs, text };
}

function instantMs(option: string, value: string): number {
  const ms = DATE_ONLY.test(value) ? Date.parse(`${value}T00:00:00Z`) : DATE_TIME.test(value) ? Date.parse(value) : Number.NaN;
  // Date.parse rolls 2026-02-30 over into March: a date must be read back as written
  const rolledOver = DATE_ONLY.test(value) && !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) !== value;
  if (Number.isNaN(ms) || rolledOver) throw new AuditUsageError(`${option} must be an ISO date (2026-11-30) or date-time with a zone (2026-11-30T12:00:00Z), not '${value}'`);
  return ms;
}
