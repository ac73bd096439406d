/**
 * The report's tables: named, typed columns and rows of cells, written the same way as CSV,
 * Parquet and HTML (so the three hold the same rows).
 */

/** A cell's Parquet type: text (ids, amounts as decimal strings), a 32-bit count, or a double. */
export type CellType = 'STRING' | 'INT32' | 'DOUBLE';
/** One cell: null where there is no value (a success rate with no job ended): empty in CSV, null in Parquet. */
export type Cell = string | number | null;

export interface Column {
  readonly name: string;
  readonly type: CellType;
  /** What the column holds, for the page's definitions. */
  readonly describe: string;
}

export interface Table {
  /** The files' base name: `providers` writes providers.csv and providers.parquet. */
  readonly name: string;
  readonly title: string;
  readonly columns: readonly Column[];
  readonly rows: readonly (readonly Cell[])[];
}

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote, CR or LF (quotes doubled); null is empty. */
export function csvField(cell: Cell): string {
  if (cell === null) return '';
  const s = typeof cell === 'number' ? numberText(cell) : cell;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The table as CSV (RFC 4180): a header of the column names, CRLF after every record. */
export function toCsv(table: Table): string {
  const lines = [table.columns.map((c) => csvField(c.name)), ...table.rows.map((row) => row.map(csvField))];
  return lines.map((fields) => `${fields.join(',')}\r\n`).join('');
}

/** A number as CSV and the page write it: JavaScript's shortest round-trip form, so Parquet's double reads back to the same text. */
export function numberText(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`a report number is finite, not ${n}`);
  return String(n);
}

/** Checks that every row has one cell per column, of the column's type (an invariant of the report, asserted before any file is written). */
export function assertTable(table: Table): void {
  for (const [r, row] of table.rows.entries()) {
    if (row.length !== table.columns.length) throw new Error(`${table.name} row ${r} has ${row.length} cells for ${table.columns.length} columns`);
    for (const [i, cell] of row.entries()) {
      const { name, type } = table.columns[i]!;
      const ok = cell === null || (type === 'STRING' ? typeof cell === 'string' : typeof cell === 'number' && Number.isFinite(cell) && (type === 'DOUBLE' || Number.isInteger(cell)));
      if (!ok) throw new Error(`${table.name} row ${r}: ${name} holds ${String(cell)}, not a ${type}`);
    }
  }
}
