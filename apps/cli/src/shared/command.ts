import type { Argv } from 'yargs';
import { Ctx, type GlobalArgs, type Io } from './context';
import { argumentErrorOf, UsageError } from './errors';

/** What yargs hands every handler besides the options (`$0`, the script's name). */
type Parsed = { $0?: string };

/**
 * A command's handler with its context built from the global flags: one per invocation. A
 * TypeError/RangeError from argument handling (before any request was sent) becomes a usage error.
 */
export function action<A>(io: Io, fn: (argv: A & GlobalArgs, ctx: Ctx) => Promise<void>): (argv: A & GlobalArgs & Parsed) => Promise<void> {
  return async (argv) => {
    const ctx = new Ctx(io, argv);
    try {
      await fn(argv, ctx);
    } catch (err) {
      throw argumentErrorOf(err, ctx.sentRequest);
    }
  };
}

/** Bytes read from stdin at most (a job file, an API key): far above either, far below memory trouble. */
export const STDIN_BYTES_MAX = 1024 * 1024;

/** All of stdin as text, bounded. */
export async function readAll(stream: NodeJS.ReadableStream, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += b.length;
    if (size > STDIN_BYTES_MAX) throw new UsageError('STDIN_TOO_LARGE', `${what} on stdin is over ${STDIN_BYTES_MAX} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The most rows `--all` collects unless `--limit` says otherwise, and the most it may say. */
export const ALL_ROWS_DEFAULT = 1_000;
export const ALL_ROWS_MAX = 100_000;
/** The API's page size bound (LIMITS.pageSizeMax): one request never asks for more. */
export const PAGE_SIZE_MAX = 100;

/** `--limit`, `--cursor` and `--all` of every list. */
export function listOptions<T>(y: Argv<T>, what: string) {
  return y
    .option('limit', { type: 'number', describe: `${what} per page (1-${PAGE_SIZE_MAX}); with --all, the most to list (default ${ALL_ROWS_DEFAULT})` })
    .option('cursor', { type: 'string', describe: 'start after this cursor (a previous page printed it)' })
    .option('all', { type: 'boolean', describe: 'page through every page (bounded by --limit)', conflicts: 'cursor' });
}

/** How many rows `--all` collects. */
export function allRowsLimit(limit: number | undefined): number {
  if (limit === undefined) return ALL_ROWS_DEFAULT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > ALL_ROWS_MAX) throw new UsageError('BAD_FLAG', `--limit with --all: a whole number from 1 to ${ALL_ROWS_MAX}`);
  return limit;
}

/** A page size for one request: `--limit`, checked to be a whole number (the gateway checks its range). */
export function pageLimit(limit: number | undefined): number | undefined {
  if (limit === undefined) return undefined;
  if (!Number.isSafeInteger(limit)) throw new UsageError('BAD_FLAG', `--limit must be a whole number, got ${String(limit)}`);
  return limit;
}

/** Up to `max` items of an async iterable, and whether more were left. */
export async function take<T>(items: AsyncIterable<T>, max: number): Promise<{ items: T[]; more: boolean }> {
  const out: T[] = [];
  for await (const item of items) {
    if (out.length === max) return { items: out, more: true };
    out.push(item);
  }
  return { items: out, more: false };
}
