import { EventEmitter } from 'node:events';
import { onBrokenPipe } from './broken-pipe';

describe('onBrokenPipe: `starminer ... | head`', () => {
  const epipe = (): Error => Object.assign(new Error('write EPIPE'), { code: 'EPIPE', errno: -32, syscall: 'write' });

  it('exits quietly with the exit code so far when the reader has gone', () => {
    const stream = new EventEmitter();
    const exits: number[] = [];
    let code = 0;
    onBrokenPipe(stream, (c) => exits.push(c), () => code);
    // without a listener, an 'error' event throws (what crashed the CLI with a stack)
    expect(() => stream.emit('error', epipe())).not.toThrow();
    code = 4;
    stream.emit('error', epipe());
    expect(exits).toEqual([0, 4]);
  });

  it('does not hide any other error of the stream', () => {
    const stream = new EventEmitter();
    const exits: number[] = [];
    onBrokenPipe(stream, (c) => exits.push(c), () => 0);
    const other = Object.assign(new Error('write EIO'), { code: 'EIO' });
    expect(() => stream.emit('error', other)).toThrow(other);
    expect(exits).toEqual([]);
  });
});
