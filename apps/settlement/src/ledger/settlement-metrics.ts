import { Injectable, Logger } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { ServiceRuntime, withTimeout } from '@starminer/service-kit';
import { ContractRow, type ContractRowStatus } from './contract-row.entity';

/**
 * A contract in these states still holds its escrow on chain (settling: decided, not yet recorded as
 * final; settle-lost: settlement gave up sending its release or refund, the stuck case an operator
 * must see).
 */
export const ESCROW_HELD_STATUSES: readonly ContractRowStatus[] = ['open', 'running', 'settling', 'settle-lost'];
const SETTLE_LOST: ContractRowStatus = 'settle-lost';
/** A scrape waits at most this long for the read model; past it the gauges keep their last values. */
export const METRICS_QUERY_TIMEOUT_MS = 2_000;

/**
 * Escrow and deadlines from the contracts read model, asked at each scrape: the wei held by open
 * contracts (it equals the escrow contract's balance for them, which the audit checks), and the
 * contracts past their deadline that are not final (the deadline scan refunds them within
 * seconds; one that stays is the "jobs stuck past deadline" alert). One indexed query per scrape.
 */
@Injectable()
export class SettlementMetrics {
  private readonly logger = new Logger('metrics');

  constructor(rt: ServiceRuntime) {
    const registers = [rt.metrics];
    const logger = this.logger;
    const query = async (): Promise<{ escrowWei: bigint; open: number; pastDeadline: number; settleLost: number } | undefined> => {
      try {
        const row = await withTimeout(
          rt.db
            .getRepository(ContractRow)
            .createQueryBuilder('c')
            .select('COALESCE(SUM(c.escrowWei), 0)::text', 'escrow')
            .addSelect('COUNT(*) FILTER (WHERE c.status <> :lost)::int', 'open')
            .addSelect('COUNT(*) FILTER (WHERE c.deadlineUnixSec < :now)::int', 'past')
            .addSelect('COUNT(*) FILTER (WHERE c.status = :lost)::int', 'lost')
            .where('c.status IN (:...held)', { held: ESCROW_HELD_STATUSES })
            .setParameter('now', Math.floor(Date.now() / 1000))
            .setParameter('lost', SETTLE_LOST)
            .getRawOne<{ escrow: string; open: number; past: number; lost: number }>(),
          METRICS_QUERY_TIMEOUT_MS,
          'Postgres did not answer',
        );
        return { escrowWei: BigInt(row?.escrow ?? '0'), open: Number(row?.open ?? 0), pastDeadline: Number(row?.past ?? 0), settleLost: Number(row?.lost ?? 0) };
      } catch (err) {
        // a scrape must not fail on the read model: the gauges keep their last values, readiness says why
        logger.warn(`contract metrics not read: ${(err as Error).message}`);
        return undefined;
      }
    };
    // the three gauges come from one query: the first collected in a scrape runs it, the others reuse it
    let latest: Promise<Awaited<ReturnType<typeof query>>> | undefined;
    const once = () => {
      latest ??= query().finally(() => setImmediate(() => (latest = undefined)));
      return latest;
    };
    new Gauge({
      name: 'starminer_open_escrow_wei',
      help: 'AGPU base units (wei) held in escrow by contracts not yet released or refunded',
      registers,
      async collect() {
        const r = await once();
        // Prometheus values are float64 (about 15 significant digits): enough for a dashboard; the ledger keeps the exact sum
        if (r) this.set(Number(r.escrowWei));
      },
    });
    new Gauge({
      name: 'starminer_open_contracts',
      help: 'Contracts open, running or settling (settle-lost ones are counted apart)',
      registers,
      async collect() {
        const r = await once();
        if (r) this.set(r.open);
      },
    });
    new Gauge({
      name: 'starminer_jobs_past_deadline',
      help: 'Contracts past their deadline and not final (not yet released or refunded), settle-lost ones included',
      registers,
      async collect() {
        const r = await once();
        if (r) this.set(r.pastDeadline);
      },
    });
    new Gauge({
      name: 'starminer_contracts_settle_lost',
      help: 'Contracts whose release or refund settlement gave up sending: their escrow stays held until an operator acts',
      registers,
      async collect() {
        const r = await once();
        if (r) this.set(r.settleLost);
      },
    });
  }
}
