/**
 * Polls `check` until it returns true, or fails after timeoutMs. A check that throws (a request
 * reset while a server restarts, a row not there yet) counts as "not yet"; when time runs out,
 * the error says the last thing it threw.
 */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, stepMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
  const why = lastError === undefined ? '' : `; the check last threw: ${(lastError as Error)?.message ?? String(lastError)}`;
  throw new Error(`condition not met within ${timeoutMs} ms${why}`, lastError === undefined ? undefined : { cause: lastError });
}
