import type { JsMsg } from '@nats-io/jetstream';

const LINGER_EXPIRED = Symbol('linger-expired');

/**
 * Groups a stream of delivered messages into batches of at most `batchMax`. A batch is closed as
 * soon as the server says nothing more is pending for the consumer (`info.pending === 0`), when
 * it is full, or when the next message does not arrive within `lingerMs`: so a quiet log is
 * handled at once, and a busy one in big batches (one Postgres transaction per batch).
 */
export async function* batchesOf(messages: AsyncIterable<JsMsg>, batchMax: number, lingerMs: number): AsyncGenerator<JsMsg[]> {
  const it = messages[Symbol.asyncIterator]();
  let next = it.next();
  try {
    for (;;) {
      const first = await next;
      if (first.done) return;
      const batch: JsMsg[] = [first.value];
      next = it.next();
      while (batch.length < batchMax && batch[batch.length - 1].info.pending > 0) {
        const r = await raceLinger(next, lingerMs);
        if (r === LINGER_EXPIRED) break;
        if (r.done) {
          yield batch;
          return;
        }
        batch.push(r.value);
        next = it.next();
      }
      yield batch;
    }
  } finally {
    // The caller stopped early: end the source iterator too (not awaited: the pending next() settles first).
    void it.return?.(undefined)?.catch(() => undefined);
  }
}

async function raceLinger<T>(p: Promise<T>, ms: number): Promise<T | typeof LINGER_EXPIRED> {
  let timer: NodeJS.Timeout | undefined;
  const linger = new Promise<typeof LINGER_EXPIRED>((resolve) => {
    timer = setTimeout(() => resolve(LINGER_EXPIRED), ms);
  });
  try {
    return await Promise.race([p, linger]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Exponential backoff with a cap and "equal jitter" (between half and all of the step, so two
 * losers of a race, or many receivers failing at once, do not come back in lockstep):
 * base x 2^(attempt-1), at most max. `random` is in [0, 1) (clamped); tests pass their own.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: number = Math.random()): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + Math.min(Math.max(random, 0), 1) * (exp / 2));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
