import { writeFile } from 'node:fs/promises';
import { assertTable, type Table } from './table';

/**
 * Writes the table as Parquet with hyparquet-writer (snappy, one column per report column, every
 * column nullable). hyparquet-writer is an ES module: loaded here on first use (Node's require of
 * ES modules), so the audit's other commands, and jest specs that import them, never load it.
 */
export async function writeParquet(table: Table, file: string): Promise<void> {
  assertTable(table);
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const buffer = parquetWriteBuffer({
    columnData: table.columns.map((c, i) => ({ name: c.name, type: c.type, nullable: true, data: table.rows.map((row) => row[i]!) })),
    createdBy: 'starminer-audit report',
  });
  await writeFile(file, new Uint8Array(buffer));
}
