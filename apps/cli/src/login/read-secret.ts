import { readAll } from '../shared/command';
import type { Io } from '../shared/context';
import { UsageError } from '../shared/errors';

/** The longest secret read from a terminal before we stop (an API key is far shorter). */
const SECRET_LENGTH_MAX = 4096;

/**
 * A secret from stdin: typed at a prompt without echo on a terminal, else the first line of what
 * is piped in (`starminer login < key.txt`, `echo $KEY | starminer login`), so it never has to be
 * a command-line argument that lands in the shell's history and the process list.
 */
export async function readSecret(io: Io, prompt: string): Promise<string> {
  const stdin = io.stdin;
  const value = stdin.isTTY && stdin.setRawMode ? await readHidden(io, prompt) : (await readAll(stdin, 'the key')).split(/\r?\n/)[0] ?? '';
  const trimmed = value.trim();
  if (trimmed.length === 0) throw new UsageError('MISSING_API_KEY', 'no API key given: pipe it on stdin or type it at the prompt');
  return trimmed;
}

function readHidden(io: Io, prompt: string): Promise<string> {
  const stdin = io.stdin as NodeJS.ReadStream;
  io.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let value = '';
    const done = (err?: Error): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      io.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(Object.assign(new Error('interrupted'), { name: 'AbortError' }));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (value.length < SECRET_LENGTH_MAX) value += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}
