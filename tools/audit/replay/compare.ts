import type { ReadModelDigest, ReadModelTableDigest } from '@starminer/events';
import type { Difference } from '../shared/outcome';

/** The rows of one chunk of one table, as a digest hashed them (columns in order; values as Postgres' text). */
export interface ChunkRows {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | null)[])[];
}

/** Where two digests of one table first part: the table, and the first chunk whose hash differs (null: same). */
export function firstDifferingChunk(live: ReadModelTableDigest, replayed: ReadModelTableDigest): number | null {
  if (live.sha256 === replayed.sha256 && live.rows === replayed.rows) return null;
  const n = Math.max(live.chunks.length, replayed.chunks.length);
  for (let i = 0; i < n; i += 1) if (live.chunks[i] !== replayed.chunks[i]) return i;
  // the differing rows lie past the chunks a digest carries (a table over LIMITS.readModelChunksMax chunks)
  return n;
}

/** The first row at which two chunks differ, as an auditor reads it: the row's columns on both sides, only the differing ones. */
export function firstDifferingRow(live: ChunkRows, replayed: ChunkRows): { index: number; live: Record<string, string | null> | null; replayed: Record<string, string | null> | null } | null {
  const n = Math.max(live.rows.length, replayed.rows.length);
  const asObject = (columns: readonly string[], row: readonly (string | null)[] | undefined): Record<string, string | null> | null =>
    row ? Object.fromEntries(columns.map((c, i) => [c, row[i] ?? null])) : null;
  for (let i = 0; i < n; i += 1) {
    const a = asObject(live.columns, live.rows[i]);
    const b = asObject(replayed.columns, replayed.rows[i]);
    if (a && b && JSON.stringify(a) === JSON.stringify(b)) continue;
    if (!a || !b) return { index: i, live: a, replayed: b };
    const keys = Object.keys(a).filter((k) => a[k] !== b[k]);
    return { index: i, live: pick(a, keys), replayed: pick(b, keys) };
  }
  return null;
}

function pick(o: Record<string, string | null>, keys: readonly string[]): Record<string, string | null> {
  return Object.fromEntries(keys.map((k) => [k, o[k] ?? null]));
}

/**
 * The tables whose digests differ between a live read model and its replay at the same checkpoint,
 * each with the first chunk that differs (to be read on both sides for the first differing row).
 */
export function differingTables(service: string, live: ReadModelDigest, replayed: ReadModelDigest): { table: string; chunk: number; difference: Difference }[] {
  const out: { table: string; chunk: number; difference: Difference }[] = [];
  for (const lt of live.tables) {
    const rt = replayed.tables.find((t) => t.table === lt.table);
    const subject = `${service}.${live.model}.${lt.table}`;
    if (!rt) {
      out.push({ table: lt.table, chunk: 0, difference: { subject, message: 'the replay has no such table (the live service runs other code than this audit tool)' } });
      continue;
    }
    if (JSON.stringify(lt.columns) !== JSON.stringify(rt.columns)) {
      out.push({ table: lt.table, chunk: 0, difference: { subject, message: 'the live table has other columns than the replay (the live service runs other code than this audit tool)', expected: rt.columns, actual: lt.columns } });
      continue;
    }
    const chunk = firstDifferingChunk(lt, rt);
    if (chunk === null) continue;
    out.push({
      table: lt.table,
      chunk,
      difference: {
        subject,
        message: `live ${lt.rows} rows sha256 ${lt.sha256.slice(0, 16)}, replay of the log to #${live.checkpoint} ${rt.rows} rows sha256 ${rt.sha256.slice(0, 16)}; first differing chunk ${chunk}`,
      },
    });
  }
  return out;
}
