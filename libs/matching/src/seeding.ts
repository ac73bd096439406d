import { InvalidInputError } from './errors';

/** One offer of the SkyPilot catalogue (`catalogs/v7/vast/vms.csv`), as parsed strings. */
export interface SkypilotPriceRow {
  AcceleratorName: string;
  AcceleratorCount: string | number;
  /** US dollars an hour for the whole offer, decimal string */
  Price: string | number;
  Region?: string;
}

const WEI_PER_TOKEN = 10n ** 18n;
const DECIMALS = 18;

/** Exact decimal string ("1.80") to Wei at 1 AGPU = 1 USD; no floating point on the way. */
export function usdToWei(amount: string | number): bigint {
  const text = typeof amount === 'number' ? amount.toFixed(DECIMALS) : amount.trim();
  const match = /^(\d+)(?:\.(\d*))?$/.exec(text);
  if (!match) throw new InvalidInputError('invalid-price', `not a non-negative decimal: ${JSON.stringify(amount)}`);
  const whole = BigInt(match[1]!);
  const fraction = (match[2] ?? '').slice(0, DECIMALS).padEnd(DECIMALS, '0');
  return whole * WEI_PER_TOKEN + BigInt(fraction);
}

/**
 * Base prices per GPU model (Wei per GPU-hour) from catalogue offers: the median over offers of
 * price / accelerator count. Rows without an accelerator, a count or a positive price are skipped.
 */
export function basePricesFromSkypilotRows(rows: readonly SkypilotPriceRow[]): Record<string, bigint> {
  const perModel = new Map<string, bigint[]>();
  for (const row of rows) {
    const model = row.AcceleratorName?.trim();
    const count = Number(row.AcceleratorCount);
    if (!model || !Number.isInteger(count) || count <= 0) continue;
    const offerWei = usdToWei(String(row.Price));
    if (offerWei <= 0n) continue;
    const list = perModel.get(model) ?? [];
    list.push(offerWei / BigInt(count));
    perModel.set(model, list);
  }
  const out: Record<string, bigint> = {};
  for (const model of [...perModel.keys()].sort()) {
    const sorted = perModel.get(model)!.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const mid = sorted.length >> 1;
    out[model] = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2n;
  }
  return out;
}

/** Minimal RFC-4180 CSV parser (quoted fields, doubled quotes, CRLF): text in, objects by header out. */
export function parseCsv(text: string): Record<string, string>[] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      field = '';
      if (record.length > 1 || record[0] !== '') records.push(record);
      record = [];
    } else field += c;
  }
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  const [header, ...body] = records;
  if (!header) return [];
  return body.map((cells) => Object.fromEntries(header.map((name, i) => [name, cells[i] ?? ''])));
}
