import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { action } from './command';
import type { Io } from './context';
import { UsageError } from './errors';

describe('action: a command handler and its errors', () => {
  let dir: string;
  let io: Io;
  let fetched: number;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'starminer-action-'));
    fetched = 0;
    io = {
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      stdin: Readable.from(['']),
      env: { XDG_CONFIG_HOME: dir, STARMINER_API_KEY: 'sm_test' },
      platform: 'linux',
      homedir: dir,
      signal: new AbortController().signal,
      fetch: async () => {
        fetched += 1;
        return new Response(JSON.stringify({ orgId: 'o', name: 'n', accountAddress: '0x', balanceWei: '0' }), { headers: { 'content-type': 'application/json' } });
      },
    };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('turns a TypeError/RangeError of argument handling (nothing sent yet) into a usage error', async () => {
    const typeError = action(io, async () => {
      throw new TypeError('lastEventId must be a JobUpdate seq (decimal), got "abc"');
    });
    await expect(typeError({})).rejects.toEqual(new UsageError('BAD_ARGUMENT', 'lastEventId must be a JobUpdate seq (decimal), got "abc"'));
    await expect(typeError({})).rejects.toBeInstanceOf(UsageError);
    const rangeError = action(io, async () => {
      throw new RangeError('bad size');
    });
    await expect(rangeError({})).rejects.toBeInstanceOf(UsageError);
  });

  it('leaves one that comes after a request alone (something was sent: not a usage error)', async () => {
    const afterRequest = action(io, async (_argv, ctx) => {
      await ctx.client().getAccount();
      throw new TypeError("Cannot read properties of undefined (reading 'x')");
    });
    const err = await afterRequest({}).catch((e: unknown) => e);
    expect(fetched).toBe(1);
    expect(err).toBeInstanceOf(TypeError);
  });

  it('passes other errors through as they are', async () => {
    const boom = new Error('boom');
    await expect(action(io, async () => Promise.reject(boom))({})).rejects.toBe(boom);
  });
});
