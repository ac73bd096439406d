/**
 * Whether a database error is the database's, not the event's: the connection dropped, a
 * deadlock, the server restarting, a table or a grant missing after a deploy. Such a failure is
 * retried with backoff (and a reader that keeps meeting it fails, for its supervisor to restart
 * it). An event can only break the rules of its data (SQLSTATE class 22: a value Postgres refuses,
 * such as a NUL) or of integrity (class 23: a unique, check or foreign key constraint), or make the
 * apply code itself throw (no SQLSTATE): after its bounded attempts such an event is parked, so the
 * reader goes on with every other.
 */
const EVENT_SQLSTATE_CLASSES = ['22', '23'];

export function isTransientDatabaseError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; driverError?: { code?: unknown } } | null;
  const code = typeof e?.code === 'string' ? e.code : typeof e?.driverError?.code === 'string' ? e.driverError.code : undefined;
  if (code !== undefined) {
    if (/^[0-9A-Z]{5}$/.test(code)) return !EVENT_SQLSTATE_CLASSES.includes(code.slice(0, 2));
    if (/^E[A-Z]+$/.test(code)) return true; // ECONNREFUSED, ECONNRESET, ETIMEDOUT...
  }
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|connection (?:is )?closed|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message);
}
