import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { LessThan } from 'typeorm';
import { jobDecider } from '@starminer/domain';
import { InjectConfig, ServiceRuntime, Ticker } from '@starminer/service-kit';
import type { IntakeConfig } from '../intake.config';
import { IntakeJob } from '../intake-jobs/intake-job.entity';

/** Queued jobs one round fails; the rest wait for the next round. */
export const EXPIRE_ROWS_PER_ROUND_MAX = 200;
/** The code a queued job past its deadline fails with. */
export const DEADLINE_PASSED = 'DEADLINE_PASSED';

/**
 * Fails, on the log, the jobs still queued (never matched) once their deadline and the grace have
 * passed, so no job waits for ever; matching frees what it held on JobFailed, and the release
 * consumer ends the reservation. Every replica sweeps: the job decider fails a job once, and only
 * while it is queued, so a match recorded first wins.
 */
@Injectable()
export class ExpireQueuedJobsTicker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('expire-queued-jobs');
  private readonly ticker: Ticker;

  constructor(
    private readonly rt: ServiceRuntime,
    @InjectConfig() private readonly config: IntakeConfig,
  ) {
    this.ticker = new Ticker('expire-queued-jobs', config.INTAKE_SWEEP_INTERVAL_MS, async () => void (await this.sweep()));
  }

  onApplicationBootstrap(): void {
    this.ticker.start();
  }

  // before the kit closes the log and the database (its global module's shutdown hooks run first)
  async onModuleDestroy(): Promise<void> {
    await this.ticker.stop();
  }

  /** One round: returns how many jobs it failed. */
  async sweep(now: Date = new Date()): Promise<number> {
    const graceMs = this.config.INTAKE_DEADLINE_GRACE_MS;
    const rows = await this.rt.db.getRepository(IntakeJob).find({
      select: { jobId: true },
      where: { status: 'queued', expiresAt: LessThan(new Date(now.getTime() - graceMs)) },
      order: { expiresAt: 'ASC' },
      take: EXPIRE_ROWS_PER_ROUND_MAX,
    });
    let failed = 0;
    for (const { jobId } of rows) {
      try {
        const { events } = await this.rt.execute(
          'job',
          jobId,
          jobDecider,
          { type: 'FailJob', code: DEADLINE_PASSED, reason: `not matched before its deadline and ${graceMs} ms of grace`, onlyIfQueued: true },
          { correlationId: jobId, causationId: jobId, actor: 'service:intake' },
        );
        failed += events.length;
      } catch (err) {
        // one job that cannot be failed (its aggregate unreadable, a conflict storm) does not stop the others
        this.logger.warn(`job ${jobId} could not be failed past its deadline: ${(err as Error).message}`);
      }
    }
    return failed;
  }
}
