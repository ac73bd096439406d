import { RowsFold } from './rows-fold';

interface Row {
  id: string;
  status: string;
  note: string | null;
  attempts: number;
}

/** A fold over rows `a` (open) and `b` (closed) as the table has them, `c` looked up and not there. */
const fold = () =>
  new RowsFold<Row>('id', ['a', 'b', 'c'], [
    { id: 'a', status: 'open' },
    { id: 'b', status: 'closed' },
  ]);

describe('RowsFold: a batch of per-event row operations, folded in log order', () => {
  it('given rows there, when they are updated, then only the columns written are patched, the last value winning', () => {
    const f = fold();
    f.update('a', { note: 'one' });
    f.update('a', { note: 'two', attempts: 0 });
    expect(f.writes()).toEqual({ deleted: [], upserted: [], updated: new Map([['a', { note: 'two', attempts: 0 }]]) });
  });

  it('given a row not there, when it is updated, then nothing is written (an UPDATE touches no row)', () => {
    const f = fold();
    f.update('c', { note: 'x' });
    expect(f.writes()).toEqual({ deleted: [], upserted: [], updated: new Map() });
  });

  it('given a condition, when the row does not meet it, then the update is skipped, and later ones see the row as moved', () => {
    const f = fold();
    f.update('b', { status: 'running' }, (r) => r.status === 'open');
    f.update('a', { status: 'running' }, (r) => r.status === 'open');
    f.update('a', { status: 'done' }, (r) => r.status === 'open');
    expect(f.writes().updated).toEqual(new Map([['a', { status: 'running' }]]));
  });

  it('given an update before an upsert of a row not there, then the update is dead and the upsert creates the row', () => {
    const f = fold();
    f.update('c', { note: 'dead' });
    f.upsert({ id: 'c', status: 'open' });
    f.update('c', { attempts: 2 });
    expect(f.writes()).toEqual({ deleted: [], upserted: [{ id: 'c', status: 'open', attempts: 2 }], updated: new Map() });
  });

  it('given a patch then an upsert of a row there, then both go in one upsert (the columns either wrote)', () => {
    const f = fold();
    f.update('a', { note: 'kept' });
    f.upsert({ id: 'a', status: 'open' });
    expect(f.writes().upserted).toEqual([{ id: 'a', note: 'kept', status: 'open' }]);
  });

  it('given insert-if-absent, then it creates a row not there and leaves a row there', () => {
    const f = fold();
    f.insertOrIgnore({ id: 'a', status: 'new' });
    f.insertOrIgnore({ id: 'c', status: 'new' });
    expect(f.writes()).toEqual({ deleted: [], upserted: [{ id: 'c', status: 'new' }], updated: new Map() });
  });

  it('given a row deleted then created again, then it is deleted first and written with only what came after (defaults for the rest)', () => {
    const f = fold();
    f.update('a', { note: 'gone with it' });
    f.delete('a');
    f.update('a', { note: 'nothing there' });
    f.upsert({ id: 'a', status: 'again' });
    f.delete('b', (r) => r.status === 'open');
    expect(f.writes()).toEqual({ deleted: ['a'], upserted: [{ id: 'a', status: 'again' }], updated: new Map() });
    expect(f.row('a')).toEqual({ id: 'a', status: 'again' });
  });

  it('given undefined values, then they are no values (TypeORM leaves those columns out)', () => {
    const f = fold();
    f.upsert({ id: 'c', status: 'open', note: 'set' });
    f.update('c', { note: undefined, attempts: 1 });
    expect(f.writes().upserted).toEqual([{ id: 'c', status: 'open', note: 'set', attempts: 1 }]);
  });

  it('when a condition or an insert-if-absent names a row not read before the batch, then the fold refuses to guess', () => {
    const f = fold();
    expect(() => f.update('z', { note: 'x' })).toThrow(/was not read/);
    expect(() => f.insertOrIgnore({ id: 'z', status: 'x' })).toThrow(/was not read/);
    expect(() => f.delete('z')).toThrow(/was not read/);
    // an upsert does not depend on whether the row is there
    f.upsert({ id: 'z', status: 'x' });
    expect(f.row('z')).toEqual({ id: 'z', status: 'x' });
  });

  it('when a row read was not among the keys looked up, then the fold refuses it', () => {
    expect(() => new RowsFold<Row>('id', ['a'], [{ id: 'b' }])).toThrow(/not looked up/);
  });
});
