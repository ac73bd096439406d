import type { ReadModelDigest } from '@starminer/events';
import { differingTables, firstDifferingChunk, firstDifferingRow } from './compare';

const h = (c: string): string => c.repeat(64);
const table = (over: Partial<ReadModelDigest['tables'][number]> = {}): ReadModelDigest['tables'][number] => ({ table: 'jobs', columns: ['costWei', 'jobId'], rows: 3, sha256: h('a'), chunks: [h('1'), h('2')], ...over });

describe('comparing a live read model with its replay', () => {
  it('given equal digests, finds nothing', () => {
    expect(firstDifferingChunk(table(), table())).toBeNull();
    expect(differingTables('gateway', { model: 'views', checkpoint: 9, tables: [table()] }, { model: 'views', checkpoint: 9, tables: [table()] })).toEqual([]);
  });

  it('given a changed second chunk, names it', () => {
    expect(firstDifferingChunk(table(), table({ sha256: h('b'), chunks: [h('1'), h('3')] }))).toBe(1);
  });

  it('given a table with more chunks than a digest carries, points past the carried ones', () => {
    expect(firstDifferingChunk(table(), table({ sha256: h('b') }))).toBe(2);
  });

  it('given a table the replay lacks or with other columns, says the live service runs other code', () => {
    const live: ReadModelDigest = { model: 'views', checkpoint: 9, tables: [table(), table({ table: 'nodes' })] };
    const replayed: ReadModelDigest = { model: 'views', checkpoint: 9, tables: [table({ columns: ['jobId'] })] };
    expect(differingTables('gateway', live, replayed).map((d) => [d.difference.subject, d.difference.message.split(' (')[0]])).toEqual([
      ['gateway.views.jobs', 'the live table has other columns than the replay'],
      ['gateway.views.nodes', 'the replay has no such table'],
    ]);
  });

  it('given two chunks, names the first differing row with only its differing columns; a missing row as null', () => {
    const columns = ['costWei', 'jobId', 'status'];
    const live = { columns, rows: [['1', 'a', 'settled'], ['5', 'b', 'settled']] };
    expect(firstDifferingRow(live, { columns, rows: [['1', 'a', 'settled'], ['4', 'b', 'settled']] })).toEqual({ index: 1, live: { costWei: '5' }, replayed: { costWei: '4' } });
    expect(firstDifferingRow(live, { columns, rows: [['1', 'a', 'settled']] })).toEqual({ index: 1, live: { costWei: '5', jobId: 'b', status: 'settled' }, replayed: null });
    expect(firstDifferingRow(live, live)).toBeNull();
  });
});
