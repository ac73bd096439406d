import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { vaultDecider } from '@starminer/domain';
import type { TradeEvent, TradeEventOf } from '@starminer/events';
import { ServiceRuntime } from '@starminer/service-kit';
import type { StoredEvent } from '@starminer/trade-log';

/** The durable consumer of job and contract events that gives a vault back what its jobs did not draw. */
export const VAULT_JOB_ENDS_DURABLE = 'intake-vault-job-ends';

/** The events after which a vault's job draws nothing more from the vault (or may have ended without a draw). */
const ENDS: ReadonlySet<string> = new Set(['ContractOpened', 'ContractOpenFailed', 'ContractReleased', 'ContractRefunded', 'JobCancelled', 'JobFailed']);

export type VaultJobEnd = { readonly vaultId: string; readonly drawnWei: bigint } | 'not-a-vault-job' | 'open-in-flight';

/**
 * What a vault's job took from the vault, from the job's subject: its escrow once ContractOpened
 * (ComputeVaults.draw takes exactly the escrow's cost; top-ups are paid from the org's account,
 * releases and refunds go to the node and to the org's account, never back into the vault); 0
 * when its open failed, or it was cancelled or failed with no open (none matched, or the last
 * match's open failed). A job cancelled or failed while an open of it may still land waits for
 * that open's outcome (ContractOpened or ContractOpenFailed follows it).
 */
export function vaultJobEnd(jobEvents: readonly TradeEvent[], contractEvents: readonly TradeEvent[]): VaultJobEnd {
  const submitted = jobEvents.find((x): x is TradeEventOf<'JobSubmitted'> => x.type === 'JobSubmitted');
  if (!submitted?.data.vault) return 'not-a-vault-job';
  const vaultId = submitted.data.vault.vaultId;
  // the escrow opens a job id once: its one ContractOpened is the one draw
  const opened = contractEvents.find((x): x is TradeEventOf<'ContractOpened'> => x.type === 'ContractOpened');
  if (opened) return { vaultId, drawnWei: opened.data.escrowWei };
  // each match is an open the deployer drives to ContractOpened or ContractOpenFailed (job and contract are two subjects: counted, not ordered)
  const matches = jobEvents.filter((x) => x.type === 'JobMatched').length;
  const failedOpens = contractEvents.filter((x) => x.type === 'ContractOpenFailed').length;
  return matches > failedOpens ? 'open-in-flight' : { vaultId, drawnWei: 0n };
}

/**
 * Gives a vault back what a firing's job did not draw (issue 16): the firing counted the template's
 * budget against the vault's balance and its period's cap; once the job's draw is known (its open,
 * or its end without one) the vault's decider records VaultFiringEnded with what the chain drew,
 * and the rest counts no more. Idempotent per job: the decider records a job's end once, so a
 * redelivery, a second end event of the job or another replica appends nothing.
 */
@Injectable()
export class VaultJobEndsConsumer implements OnApplicationBootstrap {
  private readonly logger = new Logger('vault-job-ends');

  constructor(private readonly rt: ServiceRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    // stopped with the service's other readers (ServiceKitModule's lifecycle)
    await this.rt.consume({ durable: VAULT_JOB_ENDS_DURABLE, filterSubjects: this.rt.filterOf(['job', 'contract']), handler: (batch) => this.onEvents(batch) });
  }

  async onEvents(batch: readonly StoredEvent[]): Promise<void> {
    for (const stored of batch) {
      const e = stored.event as TradeEvent;
      if (ENDS.has(e.type)) await this.onEnd((e.data as { jobId: string }).jobId, e.id);
    }
  }

  /** Records the job's draw on its vault: the number of events appended (0: not a vault job, its open in flight, or recorded already). */
  async onEnd(jobId: string, causationId: string): Promise<number> {
    const jobEvents = await this.rt.events('job', jobId);
    // most jobs are not a vault's: their contract subject is not read
    if (!jobEvents.some((x) => x.type === 'JobSubmitted' && x.data.vault)) return 0;
    const end = vaultJobEnd(jobEvents, await this.rt.events('contract', jobId));
    if (typeof end === 'string') return 0;
    const { events } = await this.rt.execute('vault', end.vaultId, vaultDecider, { type: 'RecordFiringEnded', jobId, drawnWei: end.drawnWei }, { correlationId: jobId, causationId, actor: 'service:intake' });
    if (events.length > 0) this.logger.log(`vault ${end.vaultId}: job ${jobId} drew ${end.drawnWei}; the rest of its budget counts no more`);
    return events.length;
  }
}
