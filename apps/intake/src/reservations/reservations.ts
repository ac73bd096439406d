import { Injectable, Logger } from '@nestjs/common';
import { agpuBalance } from '@starminer/chain';
import { accountDecider, DomainError, jobDecider, type AccountState, type ReleaseReason } from '@starminer/domain';
import { InjectConfig, publicClientFor, ServiceRuntime, type Causation } from '@starminer/service-kit';
import type { IntakeConfig } from '../intake.config';

/** Balance reads and decisions per reservation before FUNDS_VIEW_STALE reaches the caller (each retry reads the balance again). */
export const RESERVE_ATTEMPTS_MAX = 5;
const RESERVE_BACKOFF_BASE_MS = 10;
const RESERVE_BACKOFF_MAX_MS = 200;

type ActiveAccount = Extract<AccountState, { status: 'active' }>;

/**
 * An org's commitments as reservations on its account aggregate. The decision (balance on chain
 * less the open reservations) and the append are one optimistic-concurrency step on the account's
 * subject, so any number of intake replicas never reserve more than the balance: a replica that
 * raced another re-decides on the state that includes the other's reservation.
 */
@Injectable()
export class Reservations {
  private readonly logger = new Logger('reservations');
  private readonly publicClient;

  constructor(
    private readonly rt: ServiceRuntime,
    @InjectConfig() private readonly config: IntakeConfig,
  ) {
    this.publicClient = publicClientFor(config);
  }

  /** The org's account, or ORG_NOT_FOUND. */
  async account(orgId: string): Promise<ActiveAccount> {
    const { state } = await this.rt.load('account', orgId, accountDecider);
    if (state.status !== 'active') throw new DomainError('ORG_NOT_FOUND', 'no such org');
    return state;
  }

  /**
   * Reserves `amountWei` for `jobId` (nothing when that reservation is open already). The balance is
   * read after the state the decision stands on; a release recorded in between (the escrow may just
   * have taken those AGPU) makes the decider refuse FUNDS_VIEW_STALE, and the balance is read again.
   */
  async reserve(orgId: string, jobId: string, amountWei: bigint, causation: Causation): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      const account = await this.account(orgId);
      if (account.reservations.get(jobId) === amountWei) return;
      const balanceWei = await agpuBalance(this.publicClient, { token: this.config.MARKET_ADDRESSES.token, account: account.accountAddress as `0x${string}` });
      try {
        await this.rt.execute('account', orgId, accountDecider, { type: 'ReserveFunds', jobId, amountWei, balanceWei, releasesSeen: account.releasesSeen }, causation);
        return;
      } catch (err) {
        if (!(err instanceof DomainError && err.code === 'FUNDS_VIEW_STALE') || attempt >= RESERVE_ATTEMPTS_MAX) throw err;
        await sleep(Math.min(RESERVE_BACKOFF_MAX_MS, RESERVE_BACKOFF_BASE_MS * 2 ** (attempt - 1)));
      }
    }
  }

  /** Ends `jobId`'s open reservation (nothing if there is none: released already, or never reserved). */
  async release(orgId: string, jobId: string, reason: ReleaseReason, causation: Causation): Promise<number> {
    const { events } = await this.rt.execute('account', orgId, accountDecider, { type: 'ReleaseFunds', jobId, reason }, causation);
    return events.length;
  }

  /**
   * After a JobSubmitted (by the submitter) or an abandoned release (by the sweep): if the job's
   * reservation was released as abandoned while its JobSubmitted was on its way, reserve it again;
   * if the funds are gone by then, fail the job while it is still queued. Both sides write first and
   * read the other's subject after, so at least one of them sees both writes.
   */
  async ensureReserved(orgId: string, jobId: string, budgetWei: bigint, causation: Causation): Promise<void> {
    const account = await this.account(orgId);
    if (account.reservations.has(jobId) || !account.abandoned.has(jobId)) return;
    try {
      await this.reserve(orgId, jobId, budgetWei, causation);
      this.logger.warn(`job ${jobId}: its reservation was released as abandoned while the job was being submitted; reserved again`);
    } catch (err) {
      if (!(err instanceof DomainError && err.code === 'INSUFFICIENT_FUNDS')) throw err;
      this.logger.warn(`job ${jobId}: its reservation was released as abandoned and the funds are gone; failing the job`);
      await this.rt.execute('job', jobId, jobDecider, { type: 'FailJob', code: 'INSUFFICIENT_FUNDS', reason: 'its reservation lapsed and the org no longer has the funds', onlyIfQueued: true }, causation);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
