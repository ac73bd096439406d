import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { TradeEvent } from '@starminer/events';
import { InjectConfig, ServiceRuntime } from '@starminer/service-kit';
import type { StoredEvent } from '@starminer/trade-log';
import type { DeployerConfig } from '../deployer.config';
import { isPoison } from '../open-contracts/open-contracts.consumer';
import { VaultDraws } from './vault-draws';

/** The durable consumer of job events that draws vault jobs' escrows (its name is the reader's name for the operator). */
export const VAULT_DRAWS_DURABLE = 'deployer-vault-draws';

/**
 * On JobMatched of a vault's job, draws its escrow from the vault (VaultDraws). The org's own open
 * path (open-contracts) skips these jobs. What the draw could not do now (RPC down, the vault not
 * open on chain yet) is acked and left to the open reconciler (reconcile-opens), which re-drives
 * it through VaultDraws with its backoff and decides it from the chain at its give-up deadline; so
 * is a match older than that deadline. A job that can never be drawn is parked.
 */
@Injectable()
export class VaultDrawsConsumer implements OnApplicationBootstrap {
  private readonly logger = new Logger('vault-draws');

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly draws: VaultDraws,
    @InjectConfig() private readonly config: DeployerConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // stopped with the service's other readers (ServiceKitModule's lifecycle)
    await this.rt.consume({ durable: VAULT_DRAWS_DURABLE, filterSubjects: [this.rt.filter('job')], handler: (batch) => this.onJobEvents(batch) });
  }

  async onJobEvents(batch: readonly StoredEvent[]): Promise<void> {
    for (const stored of batch) {
      const e = stored.event as TradeEvent;
      if (e.type !== 'JobMatched') continue;
      if (Date.now() >= Date.parse(e.occurredAt) + this.config.DEPLOYER_OPEN_GIVE_UP_MS) continue; // the reconciler gives it up
      try {
        const pending = await this.draws.prepare(e);
        if (!pending) continue;
        const outcome = await this.draws.drawOne(pending);
        if (outcome.kind === 'deferred') this.logger.warn(`job ${e.data.jobId}: draw failed (${outcome.error}); left to the reconciler`);
      } catch (err) {
        if (isPoison(err)) throw err;
        this.logger.warn(`job ${e.data.jobId}: draw not made (${(err as Error).message}); left to the reconciler`);
      }
    }
  }
}
