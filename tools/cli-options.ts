/**
 * Number options of the bench and replay scripts, read from node's `util.parseArgs` values: a
 * missing option takes its default, anything outside [min, max] stops the script saying the range.
 */
export function numberOption(values: Record<string, unknown>, name: string, fallback: number, range: { min: number; max: number; integer?: boolean }): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  const integer = range.integer ?? true;
  if (!Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < range.min || v > range.max)
    throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} in ${range.min}..${range.max} (got ${String(raw)})`);
  return v;
}
