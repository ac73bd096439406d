import { agpu, bps, duration, fields, instant, printable, printableLines, table, toJson } from './output';

describe('output: how the CLI writes answers for people and for --json', () => {
  it('writes bigints as decimal strings in JSON, the API own form', () => {
    expect(toJson({ amountWei: 10n ** 30n, n: 1 }, { compact: true })).toBe('{"amountWei":"1000000000000000000000000000000","n":1}');
  });

  it('shows amounts as exact AGPU, and what is missing as -', () => {
    expect(agpu('1500000000000000000')).toBe('1.5 AGPU');
    expect(agpu(1n)).toBe('0.000000000000000001 AGPU');
    expect(agpu('0')).toBe('0 AGPU');
    expect(agpu(null)).toBe('-');
    expect(agpu(undefined)).toBe('-');
    // an amount the API would never send is shown as it came, not hidden
    expect(agpu('12abc')).toBe('12abc');
  });

  it('shows basis points as factors, seconds as durations, instants to the second in UTC', () => {
    expect([bps(12_500), bps(10_000), bps(8_333), bps(null)]).toEqual(['x1.25', 'x1', 'x0.8333', '-']);
    expect([duration(0), duration(45), duration(60), duration(125), duration(3600), duration(11_400)]).toEqual(['0s', '45s', '1m', '2m 5s', '1h', '3h 10m']);
    expect(instant('2026-11-24T12:00:05.123+01:00')).toBe('2026-11-24 11:00:05Z');
    expect(instant(null)).toBe('-');
    expect(instant('not a date')).toBe('not a date');
  });

  it('prints tables as aligned columns without borders or colours, and no trailing spaces', () => {
    expect(table(['A', 'LONGER'], [['x', null], ['yyyy', 2]])).toBe('A     LONGER\nx     -\nyyyy  2');
  });

  it('prints fields aligned, leaving out the ones without a value', () => {
    expect(fields([['job', 'j1'], ['waiting', undefined], ['status', 'queued']])).toBe('job     j1\nstatus  queued');
  });

  describe('control characters from the gateway', () => {
    const ESC = '\u001b';

    it('printable escapes C0, DEL and C1, naming \\n \\r \\t, and leaves the rest (unicode included) as it is', () => {
      expect(printable(`a${ESC}[31mb\u0007c\rd\ne\tf\u0000g\u007fh\u009bi\u0085j`)).toBe('a\\x1b[31mb\\x07c\\rd\\ne\\tf\\x00g\\x7fh\\x9bi\\x85j');
      expect(printable('plain text, ünïcödé, 日本, 1.5 AGPU \\x1b')).toBe('plain text, ünïcödé, 日本, 1.5 AGPU \\x1b');
      // escaping twice changes nothing more
      expect(printable(printable(`${ESC}\n`))).toBe('\\x1b\\n');
    });

    it('printableLines keeps the newlines between lines and escapes everything else', () => {
      expect(printableLines(`one${ESC}[2J\ntwo\r\n`)).toBe('one\\x1b[2J\ntwo\\r\n');
    });

    it('a table cell and a field stay on their line, with nothing a terminal would act on', () => {
      expect(table(['A', 'B'], [[`x\ny${ESC}[K`, 'z']])).toBe('A           B\nx\\ny\\x1b[K  z');
      expect(fields([['output', `ok\r\nstatus  settled${ESC}[2J`]])).toBe('output  ok\\r\\nstatus  settled\\x1b[2J');
      expect(instant(`not${ESC}[2J`)).toBe('not\\x1b[2J');
    });

    it('--json stays JSON that parses to the same value, with C1 and DEL escaped too (JSON.stringify leaves them raw)', () => {
      const value = { output: `a${ESC}[2J\u009b31m\u007f\u0085`, n: 1 };
      const text = toJson(value, { compact: true });
      expect(text).toBe('{"output":"a\\u001b[2J\\u009b31m\\u007f\\u0085","n":1}');
      expect(JSON.parse(text)).toEqual(value);
      expect(JSON.parse(toJson(value))).toEqual(value);
    });
  });
});
