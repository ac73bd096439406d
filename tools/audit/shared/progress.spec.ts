import { PROGRESS_LINE_INTERVAL_MS, startProgress } from './progress';

describe('audit progress', () => {
  it('prints a plain line every few seconds in a pipe, with events/s and time left, and a last line with the time taken', () => {
    let t = 0;
    const lines: string[] = [];
    const p = startProgress('replay', 'events', { stream: { write: (s: string) => (lines.push(s), true) } as unknown as NodeJS.WritableStream, now: () => t });
    t = 500;
    p.update(1_000, 10_000);
    expect(lines).toEqual([]);
    t = PROGRESS_LINE_INTERVAL_MS;
    p.update(4_000, 10_000);
    t = PROGRESS_LINE_INTERVAL_MS + 1_000;
    p.update(5_000);
    t = 4_000;
    p.update(10_000);
    p.stop();
    expect(lines).toEqual([
      'replay: 4000/10000 events | 2000 events/s | 3 s left\n',
      'replay: 10000/10000 events | 2500 events/s | 0 s left\n',
      'replay: 10000/10000 events | 2500 events/s | 4.0 s\n',
    ]);
  });

  it('draws a bar on a terminal', () => {
    let out = '';
    const stream = { isTTY: true, columns: 120, write: (s: string) => ((out += s), true), cursorTo: () => true, clearLine: () => true, moveCursor: () => true, on: () => stream, removeListener: () => stream };
    const p = startProgress('replay', 'events', { stream: stream as unknown as NodeJS.WritableStream });
    p.update(50, 100);
    p.stop();
    expect(out).toMatch(/replay \[=+-+\] 50% \| 50\/100 events \| \d+ events\/s \| \d+s left/);
  });
});
