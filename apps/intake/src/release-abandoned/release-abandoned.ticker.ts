import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { IsNull, LessThan } from 'typeorm';
import { jobDecider, vaultDecider } from '@starminer/domain';
import { InjectConfig, ServiceRuntime, Ticker } from '@starminer/service-kit';
import type { IntakeConfig } from '../intake.config';
import { IntakeJob } from '../intake-jobs/intake-job.entity';
import { Reservations } from '../reservations/reservations';

/** Reservations one round looks at; the rest wait for the next round. */
export const ABANDONED_ROWS_PER_ROUND_MAX = 200;

/**
 * Releases, as abandoned, the reservations whose job never came (intake crashed between the
 * reservation and the JobSubmitted, and nobody retried) once INTAKE_RESERVATION_ABANDONED_MS has
 * passed. The job's subject, not the read model, decides: a job that exists for the same org keeps
 * its reservation. A JobSubmitted that lands after the release reserves again (Reservations.ensureReserved).
 */
@Injectable()
export class ReleaseAbandonedTicker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('release-abandoned');
  private readonly ticker: Ticker;

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly reservations: Reservations,
    @InjectConfig() private readonly config: IntakeConfig,
  ) {
    this.ticker = new Ticker('release-abandoned', config.INTAKE_SWEEP_INTERVAL_MS, async () => void (await this.sweep()));
  }

  onApplicationBootstrap(): void {
    this.ticker.start();
  }

  // before the kit closes the log and the database (its global module's shutdown hooks run first)
  async onModuleDestroy(): Promise<void> {
    await this.ticker.stop();
  }

  /** One round: returns how many reservations it released. */
  async sweep(now: Date = new Date()): Promise<number> {
    const bound = this.config.INTAKE_RESERVATION_ABANDONED_MS;
    const rows = await this.rt.db.getRepository(IntakeJob).find({
      select: { jobId: true, orgId: true },
      where: { reservationOpen: true, status: IsNull(), reservedAt: LessThan(new Date(now.getTime() - bound)) },
      order: { reservedAt: 'ASC' },
      take: ABANDONED_ROWS_PER_ROUND_MAX,
    });
    let released = 0;
    for (const { jobId, orgId } of rows) {
      try {
        const job = (await this.rt.load('job', jobId, jobDecider)).state;
        if (job.status !== 'none' && job.orgId === orgId) continue; // the job came; the read model is behind
        // a vault's deposit (reserved under the vault id) is held until its open, its failure or its close releases it
        const vault = (await this.rt.load('vault', jobId, vaultDecider)).state;
        if (vault.status !== 'none' && vault.status !== 'closed' && vault.orgId === orgId && vault.chain === null && vault.openFailedCode === null) continue;
        const causation = { correlationId: jobId, causationId: jobId, actor: 'service:intake' };
        released += await this.reservations.release(orgId, jobId, 'abandoned', causation);
        // a JobSubmitted that landed meanwhile gets its reservation back
        const after = (await this.rt.events('job', jobId)).find((x) => x.type === 'JobSubmitted');
        if (after && after.type === 'JobSubmitted' && after.data.orgId === orgId) await this.reservations.ensureReserved(orgId, jobId, after.data.budgetWei, causation);
      } catch (err) {
        // one reservation that cannot be released does not keep the others
        this.logger.warn(`reservation of job ${jobId} (org ${orgId}) could not be released as abandoned: ${(err as Error).message}`);
      }
    }
    return released;
  }
}
