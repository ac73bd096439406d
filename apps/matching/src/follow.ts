import { DeliverPolicy } from '@nats-io/jetstream';
import type { Decode, StoredEvent, TradeLog } from '@starminer/trade-log';

/** Events handed to the engine at once; a round runs after each batch. */
export const FOLLOW_BATCH_MAX = 500;
const FOLLOW_EXPIRES_MS = 5_000;
const FOLLOW_LINGER_MS = 5;

export interface FollowHandle {
  stop(): Promise<void>;
}

/**
 * Follows the log from `fromSeq` with an ordered (ephemeral) consumer: the in-memory engine is the
 * state, so there is nothing to ack. `caughtUp` is true on the batch after which nothing was
 * pending: from then on the engine may decide.
 */
export async function follow(
  log: TradeLog,
  opts: { filterSubjects: string[]; fromSeq: number; decode: Decode; handler: (batch: StoredEvent[], caughtUp: boolean) => Promise<void> },
): Promise<FollowHandle> {
  const consumer = await log.js.consumers.get(log.streamName, {
    filter_subjects: log.filterFor(opts.filterSubjects),
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: Math.max(1, opts.fromSeq),
  });
  const messages = await consumer.consume({ max_messages: FOLLOW_BATCH_MAX, expires: FOLLOW_EXPIRES_MS });
  let stopped = false;
  const loop = (async () => {
    let batch: StoredEvent[] = [];
    let timer: NodeJS.Timeout | undefined;
    let flushing: Promise<void> = Promise.resolve();
    const flush = (caughtUp: boolean) => {
      const b = batch;
      batch = [];
      flushing = flushing.then(() => (b.length ? opts.handler(b, caughtUp) : undefined));
      return flushing;
    };
    for await (const m of messages) {
      if (stopped) break;
      batch.push({ seq: m.seq, subject: m.subject, event: opts.decode(m.data), redelivered: m.redelivered });
      const caughtUp = m.info.pending === 0;
      if (caughtUp || batch.length >= FOLLOW_BATCH_MAX) {
        if (timer) clearTimeout(timer);
        await flush(caughtUp);
      } else if (!timer) {
        timer = setTimeout(() => {
          timer = undefined;
          void flush(false);
        }, FOLLOW_LINGER_MS);
      }
    }
    await flushing;
  })();
  return {
    async stop() {
      stopped = true;
      await messages.close();
      await loop.catch(() => undefined);
    },
  };
}
