import type { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';
import { deleteRows, insertRows, updateRows } from './batch-sql';

/** What a batch does to one row of a table, folded in log order. */
interface RowState<R> {
  /** The row as the fold knows it (read before the batch, then moved by its events); undefined: the table has no such row. */
  row: Partial<R> | undefined;
  /** The columns the batch sets on the row, each with its last value (since the row's last delete). */
  writes: Partial<R>;
  /** Created or upserted by the batch: written with INSERT ... ON CONFLICT DO UPDATE; else `writes` is an UPDATE. */
  upserted: boolean;
  /** Deleted by an event of the batch: DELETE first, then whatever `writes` holds after that. */
  deleted: boolean;
}

/** The statements a folded batch leaves for one table, in the order they run. */
export interface RowsFoldWrites<R> {
  readonly deleted: string[];
  readonly upserted: Partial<R>[];
  readonly updated: Map<string, Partial<R>>;
}

/**
 * One table's rows as a batch of events moves them, in memory and in log order, with the
 * operations a per-event projection runs through TypeORM: `upsert` (Repository.upsert of one row),
 * `insertOrIgnore`, `update` and `delete` of one key with an optional condition on the row. What it
 * leaves (`writes()`) is what running those one by one leaves in the table:
 * - a column's value is the last an event set while the row was there; columns no event set keep
 *   theirs (an UPDATE names only the columns written, so another writer's columns are untouched);
 * - an update or delete of a row not there does nothing; an upsert creates the row with its
 *   values (the table's defaults for the rest), as does an insert-if-absent;
 * - a row deleted and created again is deleted first, so the new row gets the defaults;
 * - a value undefined is no value (TypeORM leaves the column out).
 * A condition or an insert-if-absent needs the row as it was before the batch: its key must be
 * among those read (`looked`), or an Error says the fold would guess. Pure.
 */
export class RowsFold<R extends object> {
  private readonly states = new Map<string, RowState<R>>();

  /** `looked`: every key read before the batch; `before`: the rows found of them (the others are not there). */
  constructor(
    private readonly key: keyof R & string,
    looked: Iterable<string>,
    before: Iterable<Partial<R>>,
  ) {
    for (const k of looked) this.states.set(k, { row: undefined, writes: {}, upserted: false, deleted: false });
    for (const r of before) {
      const k = this.keyOf(r);
      if (!this.states.has(k)) throw new Error(`row ${k} was read but its key was not looked up`);
      this.states.get(k)!.row = { ...r };
    }
  }

  /** The row of `key` as the batch has it so far (undefined: not there). */
  row(key: string): Readonly<Partial<R>> | undefined {
    return this.knownState(key).row;
  }

  /** Every row there so far, in the order the fold met their keys (those read first). */
  *rows(): IterableIterator<Readonly<Partial<R>>> {
    for (const s of this.states.values()) if (s.row) yield s.row;
  }

  /** Repository.upsert of one row: created with `values`, or `values` set on the row there. */
  upsert(given: Partial<R>): void {
    const values = defined(given);
    const k = this.keyOf(values);
    let s = this.states.get(k);
    if (!s) {
      // not read: whether the row is there does not matter to an upsert (and once upserted, it is there)
      s = { row: undefined, writes: {}, upserted: false, deleted: false };
      this.states.set(k, s);
    }
    s.row = { ...s.row, ...values };
    s.writes = { ...s.writes, ...values };
    s.upserted = true;
  }

  /** INSERT ... ON CONFLICT DO NOTHING of one row. */
  insertOrIgnore(values: Partial<R>): void {
    const k = this.keyOf(values);
    if (this.knownState(k).row) return;
    this.upsert(values);
  }

  /** Repository.update of one key: `patch` set on the row when it is there (and `where` holds of it). */
  update(key: string, given: Partial<R>, where?: (row: Readonly<Partial<R>>) => boolean): void {
    const s = this.knownState(key);
    if (!s.row || (where && !where(s.row))) return;
    const patch = defined(given);
    s.row = { ...s.row, ...patch };
    s.writes = { ...s.writes, ...patch };
  }

  /** Repository.delete of one key: the row goes when it is there (and `where` holds of it). */
  delete(key: string, where?: (row: Readonly<Partial<R>>) => boolean): void {
    const s = this.knownState(key);
    if (!s.row || (where && !where(s.row))) return;
    s.row = undefined;
    s.writes = {};
    s.upserted = false;
    s.deleted = true;
  }

  /** What the batch leaves to write: deletes, then upserts (whole written columns), then updates (patches), at most one of each a key. */
  writes(): RowsFoldWrites<R> {
    const deleted: string[] = [];
    const upserted: Partial<R>[] = [];
    const updated = new Map<string, Partial<R>>();
    for (const [k, s] of this.states) {
      if (s.deleted) deleted.push(k);
      if (!s.row) continue;
      if (s.upserted) upserted.push(s.writes);
      else if (Object.keys(s.writes).length > 0) updated.set(k, s.writes);
    }
    return { deleted, upserted, updated };
  }

  private keyOf(row: Partial<R>): string {
    const k = row[this.key];
    if (typeof k !== 'string') throw new Error(`a row without its key ${this.key}`);
    return k;
  }

  private knownState(key: string): RowState<R> {
    const s = this.states.get(key);
    if (!s) throw new Error(`row ${key} was not read before the batch: the fold cannot tell whether it is there`);
    return s;
  }
}

/** `values` without its undefined ones: TypeORM leaves a column whose value is undefined out of an insert, an upsert's update and an update. */
function defined<R extends object>(values: Partial<R>): Partial<R> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<R>;
}

/** Writes what a fold leaves in a table: one DELETE, one INSERT ... ON CONFLICT a set of columns, one UPDATE (each a ROWS_PER_STATEMENT_MAX rows). */
export async function writeRowsFold<E extends ObjectLiteral>(em: EntityManager, entity: EntityTarget<E>, key: keyof E & string, writes: RowsFoldWrites<E>): Promise<void> {
  await deleteRows(em, entity, key, writes.deleted);
  await insertRows(em, entity, writes.upserted, { update: [key] });
  await updateRows(em, entity, key, writes.updated);
}
