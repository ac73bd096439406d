import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DomainError, jobDecider, vaultDecider, type VaultTemplate } from '@starminer/domain';
import type { TradeEvent, TradeEventOf } from '@starminer/events';
import { ServiceRuntime, type Causation } from '@starminer/service-kit';
import { PoisonEventError, type StoredEvent } from '@starminer/trade-log';

/** The durable consumer of vault events that submits the firings' jobs (its name is the reader's name for the operator). */
export const VAULT_JOBS_DURABLE = 'intake-vault-jobs';

export type VaultJobOutcome = 'submitted' | 'already-submitted';

/**
 * Submits each firing's job: on VaultFired, the vault's template (the one the firing names by its
 * hash) as the job `jobId` the firing derived from its id, requested by the vault's owner (the
 * org's custodial account, which the vault pays refunds back to) and marked with the vault and the
 * firing. Nothing is reserved on the org's account: the firing already counted the budget against
 * the vault's cap and balance (the decider is given that budget as what the job may draw), and the
 * deployer draws the escrow from the vault on chain (vault-draws). Idempotent: a redelivered
 * VaultFired, or one another replica took, finds the job and appends nothing.
 */
@Injectable()
export class VaultJobsConsumer implements OnApplicationBootstrap {
  private readonly logger = new Logger('vault-jobs');

  constructor(private readonly rt: ServiceRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    // stopped with the service's other readers (ServiceKitModule's lifecycle)
    await this.rt.consume({ durable: VAULT_JOBS_DURABLE, filterSubjects: [this.rt.filter('vault')], handler: (batch) => this.onEvents(batch) });
  }

  async onEvents(batch: readonly StoredEvent[]): Promise<void> {
    for (const stored of batch) {
      const e = stored.event as TradeEvent;
      if (e.type === 'VaultFired') await this.onFired(e);
    }
  }

  async onFired(fired: TradeEventOf<'VaultFired'>): Promise<VaultJobOutcome> {
    const { jobId, vaultId, firingId } = fired.data;
    if ((await this.rt.events('job', jobId)).some((x) => x.type === 'JobSubmitted')) return 'already-submitted';
    const { state } = await this.rt.load('vault', vaultId, vaultDecider);
    // VaultCreated comes first on the vault's subject, before any firing of it
    if (state.status === 'none') throw new PoisonEventError(`vault ${vaultId} of firing ${firingId} has no VaultCreated on the log`);
    const template = await this.templateOf(fired, state.template);
    const { specHash, templateHash, ...spec } = template;
    const causation: Causation = { correlationId: jobId, causationId: fired.id, actor: 'service:intake' };
    try {
      await this.rt.execute(
        'job',
        jobId,
        jobDecider,
        // the vault pays: the job may draw exactly the budget its firing committed of the vault
        { type: 'SubmitJob', jobId, orgId: state.orgId, requesterAddress: state.ownerAddress, spec, availableWei: fired.data.budgetWei, vault: { vaultId, firingId, specHash } },
        causation,
      );
    } catch (err) {
      if (err instanceof DomainError && err.code === 'JOB_EXISTS') return 'already-submitted';
      throw err;
    }
    this.logger.log(`vault ${vaultId} firing ${firingId}: job ${jobId} submitted`);
    return 'submitted';
  }

  /**
   * The template the firing fired (its hash): the vault's current one unless it was edited since,
   * else the edit that set it, read from the vault's subject.
   */
  private async templateOf(fired: TradeEventOf<'VaultFired'>, current: VaultTemplate): Promise<VaultTemplate> {
    if (current.templateHash === fired.data.templateHash) return current;
    for (const e of (await this.rt.events('vault', fired.data.vaultId)).reverse()) {
      if ((e.type === 'VaultCreated' || e.type === 'VaultTemplateEdited') && e.data.template.templateHash === fired.data.templateHash) return e.data.template;
    }
    throw new PoisonEventError(`vault ${fired.data.vaultId} has no template ${fired.data.templateHash} that firing ${fired.data.firingId} names`);
  }
}
