import { assertTable, csvField, toCsv, type Table } from './table';

const table = (rows: Table['rows']): Table => ({
  name: 'things',
  title: 'Things',
  columns: [
    { name: 'name', type: 'STRING', describe: 'a name' },
    { name: 'count', type: 'INT32', describe: 'a count' },
    { name: 'rate', type: 'DOUBLE', describe: 'a rate' },
  ],
  rows,
});

describe('CSV writer', () => {
  it('writes a header and one CRLF-ended record per row; plain fields unquoted, null empty, numbers in their shortest round-trip form', () => {
    expect(toCsv(table([['gpu-a', 3, 0.75], ['gpu-b', 0, null]]))).toBe('name,count,rate\r\ngpu-a,3,0.75\r\ngpu-b,0,\r\n');
    expect(csvField(0.1 + 0.2)).toBe('0.30000000000000004');
  });

  it.each([
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['"', '""""'],
    ['line\nbreak', '"line\nbreak"'],
    ['carriage\rreturn', '"carriage\rreturn"'],
    ['crlf\r\n', '"crlf\r\n"'],
    ['plain text; with semicolons', 'plain text; with semicolons'],
    ['', ''],
  ])('quotes %j as %j (RFC 4180: quotes doubled inside quotes)', (value, field) => {
    expect(csvField(value)).toBe(field);
    expect(toCsv(table([[value, 1, 1]]))).toBe(`name,count,rate\r\n${field},1,1\r\n`);
  });

  it('refuses a number that is not finite (NaN has no CSV or Parquet form)', () => {
    expect(() => csvField(Number.NaN)).toThrow(RangeError);
    expect(() => csvField(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});

describe('assertTable', () => {
  it('accepts cells of their column types and null', () => {
    expect(() => assertTable(table([['a', 1, 0.5], [null, null, null]]))).not.toThrow();
  });

  it.each([
    ['a row short of a cell', [['a', 1]], /has 2 cells for 3 columns/],
    ['text in a count', [['a', '1', 0.5]], /count holds 1, not a INT32/],
    ['a fraction in a count', [['a', 1.5, 0.5]], /count holds 1.5, not a INT32/],
    ['a number in a text column', [[7, 1, 0.5]], /name holds 7, not a STRING/],
  ])('refuses %s', (_what, rows, message) => {
    expect(() => assertTable(table(rows as Table['rows']))).toThrow(message);
  });
});
