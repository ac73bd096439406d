/**
 * Whether a database error may pass on its own (the connection dropped, a deadlock, the server
 * restarting): such a failure is retried with backoff. Anything else that an apply throws is a
 * property of the event (a constraint it breaks, a value Postgres refuses), and after its bounded
 * attempts the event is parked instead of stopping the reader.
 */
const TRANSIENT_SQLSTATE_CLASSES = ['08', '40', '53', '55', '57', '58'];

export function isTransientDatabaseError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; driverError?: { code?: unknown } } | null;
  const code = typeof e?.code === 'string' ? e.code : typeof e?.driverError?.code === 'string' ? e.driverError.code : undefined;
  if (code !== undefined) {
    if (/^[0-9A-Z]{5}$/.test(code)) return TRANSIENT_SQLSTATE_CLASSES.includes(code.slice(0, 2));
    if (/^E[A-Z]+$/.test(code)) return true; // ECONNREFUSED, ECONNRESET, ETIMEDOUT...
  }
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|connection (?:is )?closed|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message);
}
