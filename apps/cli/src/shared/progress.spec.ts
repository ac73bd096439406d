import { PassThrough } from 'node:stream';
import { startProgress } from './progress';

describe('progress on stderr', () => {
  it('in a pipe: one line per change, the text (a waiting reason from the gateway) with its control characters escaped', () => {
    const stderr = new PassThrough();
    let written = '';
    stderr.on('data', (d: Buffer) => (written += d.toString('utf8')));
    const p = startProgress({ stderr, json: false }, 'job j: queued');
    p.update('job j: queued (busy\u001b[2J\nsettled)');
    p.succeed('job j: settled');
    expect(written).toBe('job j: queued\njob j: queued (busy\\x1b[2J\\nsettled)\njob j: settled\n');
  });

  it('with --json: nothing', () => {
    const stderr = new PassThrough();
    let written = '';
    stderr.on('data', (d: Buffer) => (written += d.toString('utf8')));
    startProgress({ stderr, json: true }, 'x').update('y');
    expect(written).toBe('');
  });
});
