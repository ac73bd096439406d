import { StarMinerApiError, StarMinerNetworkError } from '@starminer/sdk';
import { printable } from './output';

/**
 * The exit codes of `starminer`, one meaning each, so scripts can branch on them
 * (apps/cli/README.md lists them).
 */
export const EXIT = {
  ok: 0,
  /** the gateway refused the request (a 4xx with its code) */
  refused: 1,
  /** the command line, a file or the local configuration is wrong: nothing was sent */
  usage: 2,
  /** the gateway could not be reached, did not answer in time, or failed (5xx) */
  unavailable: 3,
  /** a watched job ended without settling (refunded, failed, cancelled) */
  jobNotSettled: 4,
  /** a wait ran out of time before the job ended */
  waitTimedOut: 5,
  /** interrupted (Ctrl-C): 128 + SIGINT, as shells report it */
  interrupted: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Something the user must fix on their side: a flag, a file, the configuration. Exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** A command that ran and has an outcome to report through its exit code (e.g. a job that was refunded). */
export class OutcomeError extends Error {
  override readonly name = 'OutcomeError';
  constructor(
    readonly exitCode: ExitCode,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ErrorReport {
  exitCode: ExitCode;
  code: string;
  message: string;
  status?: number;
  details?: unknown;
}

/**
 * A TypeError or RangeError thrown before anything was sent is an argument the command handed on
 * unchecked (the SDK refuses such arguments with one, as Node does): the user's to fix, exit 2
 * (BAD_ARGUMENT), not a refusal. Once a request has gone out it is not, and stays UNEXPECTED.
 */
export function argumentErrorOf(err: unknown, sentRequest: boolean): unknown {
  if (sentRequest || !(err instanceof TypeError || err instanceof RangeError)) return err;
  return new UsageError('BAD_ARGUMENT', err.message);
}

/** What to tell the user about an error, and the exit code; an error we did not expect keeps its message. */
export function reportOf(err: unknown): ErrorReport {
  if (err instanceof UsageError) return { exitCode: EXIT.usage, code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
  if (err instanceof OutcomeError) return { exitCode: err.exitCode, code: err.code, message: err.message };
  if (err instanceof StarMinerApiError) {
    return {
      exitCode: err.status >= 500 ? EXIT.unavailable : EXIT.refused,
      code: err.code,
      message: bareMessage(err.message, err.status, err.code),
      status: err.status,
      ...(err.details === undefined ? {} : { details: err.details }),
    };
  }
  if (err instanceof StarMinerNetworkError) {
    return { exitCode: EXIT.unavailable, code: typeof err.code === 'string' ? err.code : 'NETWORK', message: `${err.message}${rootCause(err)}` };
  }
  if (isAbort(err)) return { exitCode: EXIT.interrupted, code: 'INTERRUPTED', message: 'interrupted' };
  // not ours to explain: say what it is, and exit like a refused request rather than pretend success
  return { exitCode: EXIT.refused, code: 'UNEXPECTED', message: err instanceof Error ? err.message : String(err) };
}

/** The gateway's message, without a `<status> <code>: ` prefix an error class may have put before it (we print both ourselves). */
function bareMessage(message: string, status: number, code: string): string {
  const prefix = `${status} ${code}: `;
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

/** fetch's own error says only "fetch failed"; the socket's error under it says why (ECONNREFUSED, ENOTFOUND...). */
function rootCause(err: Error): string {
  let cause: unknown = err.cause;
  for (let depth = 0; depth < 4 && cause instanceof Error; depth += 1) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string') return ` (${code})`;
    if (!(cause.cause instanceof Error)) return cause.message && !err.message.includes(cause.message) ? ` (${cause.message})` : '';
    cause = cause.cause;
  }
  return '';
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as { code?: unknown }).code === 'ABORT_ERR');
}

/** The lines a person reads on stderr: the code, the message, and each field a validation named; the gateway's text with its control characters escaped. */
export function errorLines(r: ErrorReport): string[] {
  const lines = [`error ${r.code}${r.status ? ` (${r.status})` : ''}: ${r.message}`];
  const violations = (r.details as { violations?: unknown } | undefined)?.violations;
  if (Array.isArray(violations)) {
    for (const v of violations as { field?: unknown; message?: unknown; limit?: unknown }[]) {
      lines.push(`  ${String(v.field ?? '?')}: ${String(v.message ?? '')}${v.limit === undefined ? '' : ` (limit ${String(v.limit)})`}`);
    }
  } else if (r.details !== undefined && r.code !== 'UNEXPECTED') {
    lines.push(`  details: ${JSON.stringify(r.details)}`);
  }
  return lines.map((line, i) => (i === 0 ? printable(line) : `  ${printable(line.slice(2))}`));
}
