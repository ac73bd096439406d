import type { EntityManager } from 'typeorm';
import { chunks, tableOf } from '@starminer/service-kit';
import { MarketSurgeView } from './entities';

/**
 * Each market's surge in the views (market_surges), written the same way by the per-event path and
 * the batch path: a change is applied only when it is ordered at or after the one the row holds,
 * by (the engine's time of the change, log sequence). That order is total, so the row is the
 * change that is last by it among every change applied, whatever the batches and however often an
 * event is delivered:
 * - a redelivery (same time, same seq) writes the same values;
 * - an older change arriving later (the engine's own event coming back after a later decision, a
 *   replica's late one) changes nothing, as applySurgeChange (libs/matching) ignores it;
 * - two changes of one time keep the later on the log.
 */

/** The key of a market's row. */
export const surgeKeyOf = (row: Pick<MarketSurgeView, 'gpuClass' | 'region'>): string => `${row.gpuClass}\u0000${row.region}`;

/** Whether `next` is ordered at or after `held` (by changedAt, then lastSeq): the change the row keeps. Pure. */
export function supersedes(next: Pick<MarketSurgeView, 'changedAt' | 'lastSeq'>, held: Pick<MarketSurgeView, 'changedAt' | 'lastSeq'>): boolean {
  const dt = next.changedAt.getTime() - held.changedAt.getTime();
  return dt !== 0 ? dt > 0 : BigInt(next.lastSeq) >= BigInt(held.lastSeq);
}

/**
 * Upserts market surges, each over the row there only when it supersedes it (ON CONFLICT ... DO
 * UPDATE ... WHERE, the same order as `supersedes`): one statement per ROWS_PER_STATEMENT_MAX rows.
 * `rows`: at most one per market (a batch's fold keeps the one that supersedes the others).
 */
export async function writeSurges(em: EntityManager, rows: readonly MarketSurgeView[]): Promise<void> {
  if (rows.length === 0) return;
  const t = tableOf(em, MarketSurgeView);
  const [gpuClass, region, surgeSince, changedAt, lastSeq] = ['gpuClass', 'region', 'surgeSince', 'changedAt', 'lastSeq'].map((p) => t.col(p)) as [string, string, string, string, string];
  const sql =
    `INSERT INTO ${t.name} AS t (${gpuClass}, ${region}, ${surgeSince}, ${changedAt}, ${lastSeq}) ` +
    `SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::bigint[]) ` +
    `ON CONFLICT (${gpuClass}, ${region}) DO UPDATE SET ${surgeSince} = EXCLUDED.${surgeSince}, ${changedAt} = EXCLUDED.${changedAt}, ${lastSeq} = EXCLUDED.${lastSeq} ` +
    `WHERE (t.${changedAt}, t.${lastSeq}) <= (EXCLUDED.${changedAt}, EXCLUDED.${lastSeq})`;
  for (const chunk of chunks(rows)) {
    await em.query(sql, [
      chunk.map((r) => r.gpuClass),
      chunk.map((r) => r.region),
      chunk.map((r) => r.surgeSince?.toISOString() ?? null),
      chunk.map((r) => r.changedAt.toISOString()),
      chunk.map((r) => r.lastSeq),
    ]);
  }
}
