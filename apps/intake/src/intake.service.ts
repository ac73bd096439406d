import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { uuidv7 } from 'uuidv7';
import type { EventData } from '@starminer/events';
import { accountDecider, DomainError, jobDecider, parseWei, type JobSpec } from '@starminer/domain';
import { agpuBalance } from '@starminer/chain';
import type { StoredEvent, ProjectionRunner } from '@starminer/trade-log';
import { KeyedMutex, publicClientFor, serveCommand, ServiceRuntime, type ChainConfig } from '@starminer/service-kit';
import { IntakeJob } from './intake-job.entity';

export const INTAKE_CONFIG = Symbol('INTAKE_CONFIG');

/** Statuses whose budget is still held against the org's balance (no escrow taken yet). */
const HOLDING_STATUSES = ['queued', 'matched'];

export interface SubmitJobPayload {
  readonly orgId: string;
  readonly spec: Omit<JobSpec, 'budgetWei'> & { budgetWei: string };
  readonly requestId: string;
}

@Injectable()
export class IntakeService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('intake');
  private readonly orgLocks = new KeyedMutex();
  private projection!: ProjectionRunner;
  private readonly publicClient;

  constructor(
    private readonly rt: ServiceRuntime,
    @Inject(INTAKE_CONFIG) private readonly config: ChainConfig,
  ) {
    this.publicClient = publicClientFor(config);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.projection = this.rt.projection('jobs', this.rt.filterOf(['job', 'contract']), (em, e) => this.apply(em, e));
    await this.projection.start();
    serveCommand(this.rt.nc, this.rt.commandSubject('intake', 'submitJob'), (p: SubmitJobPayload) => this.submit(p), (m) => this.logger.error(m));
    serveCommand(this.rt.nc, this.rt.commandSubject('intake', 'cancelJob'), (p: { orgId: string; jobId: string }) => this.cancel(p), (m) => this.logger.error(m));
    this.logger.log('intake ready');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.projection?.stop();
    await this.rt.close();
  }

  /** Submits a job: the org's spendable funds are checked and the append done under one lock. */
  async submit(p: SubmitJobPayload): Promise<{ jobId: string; seq: number }> {
    const spec: JobSpec = { ...p.spec, budgetWei: parseWei('budgetWei', p.spec.budgetWei) };
    return this.orgLocks.run(p.orgId, async () => {
      const account = (await this.rt.load('account', p.orgId, accountDecider)).state;
      if (account.status !== 'active') throw new DomainError('ORG_NOT_FOUND', 'no such org');
      const availableWei = await this.availableWei(p.orgId, account.accountAddress);
      const jobId = uuidv7();
      const { seqs } = await this.rt.execute(
        'job',
        jobId,
        jobDecider,
        { type: 'SubmitJob', jobId, orgId: p.orgId, requesterAddress: account.accountAddress, spec, availableWei },
        { correlationId: jobId, causationId: p.requestId, actor: `org:${p.orgId}` },
      );
      const seq = seqs[seqs.length - 1];
      // The hold must be visible before the next submission of this org is checked.
      await this.projection.waitUntil(seq);
      return { jobId, seq };
    });
  }

  async cancel(p: { orgId: string; jobId: string }): Promise<{ seq: number | null }> {
    const { seqs } = await this.rt.execute('job', p.jobId, jobDecider, { type: 'CancelJob', orgId: p.orgId, reason: 'cancelled by requester' }, {
      correlationId: p.jobId,
      causationId: p.jobId,
      actor: `org:${p.orgId}`,
    });
    return { seq: seqs.at(-1) ?? null };
  }

  private async availableWei(orgId: string, address: string): Promise<bigint> {
    const balanceWei = await agpuBalance(this.publicClient, { token: this.config.MARKET_ADDRESSES.token, account: address as `0x${string}` });
    const row = await this.rt.db
      .getRepository(IntakeJob)
      .createQueryBuilder('j')
      .select('COALESCE(SUM(j.budgetWei), 0)', 'held')
      .where('j.orgId = :orgId AND j.status IN (:...statuses)', { orgId, statuses: HOLDING_STATUSES })
      .getRawOne<{ held: string }>();
    const heldWei = BigInt(row?.held ?? '0');
    return balanceWei > heldWei ? balanceWei - heldWei : 0n;
  }

  private async apply(em: EntityManager, { event, seq }: StoredEvent): Promise<void> {
    const repo = em.getRepository(IntakeJob);
    const e = event as { type: string; data: unknown };
    switch (e.type) {
      case 'JobSubmitted': {
        const d = e.data as EventData<'JobSubmitted'>;
        await repo.upsert({ jobId: d.jobId, orgId: d.orgId, category: d.category, status: 'queued', budgetWei: d.budgetWei, submittedSeq: String(seq) }, ['jobId']);
        return;
      }
      case 'JobMatched':
        await repo.update({ jobId: (e.data as { jobId: string }).jobId, status: 'queued' }, { status: 'matched' });
        return;
      case 'ContractOpened':
        await repo.update({ jobId: (e.data as { jobId: string }).jobId }, { status: 'contracted' });
        return;
      case 'ContractOpenFailed':
      case 'ContractReleased':
      case 'ContractRefunded':
      case 'JobFailed':
      case 'JobCancelled':
        await repo.update({ jobId: (e.data as { jobId: string }).jobId }, { status: 'closed' });
        return;
      default:
        return;
    }
  }
}
