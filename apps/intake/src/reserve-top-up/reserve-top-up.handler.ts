import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { DomainError } from '@starminer/domain';
import { COMMANDS, type PayloadOf, type ReplyOf, type TradeEventOf } from '@starminer/events';
import { CommandHandler, KeyedMutex, ServiceRuntime, type Causation } from '@starminer/service-kit';
import { Reservations } from '../reservations/reservations';

const RESERVE = COMMANDS.intake.reserveTopUp;

/**
 * `cmd.intake.reserveTopUp` (issue 16): a top-up's price is reserved on the org's account like a
 * job's budget, under the top-up id (its reservation's key), so the org never commits more than its
 * balance while the deployer relays the top-up. It ends when the escrow takes the funds
 * (ContractToppedUp: release-funds), or, for a top-up that never lands (refused by the chain, its
 * caller gone), by the abandoned sweep after INTAKE_RESERVATION_ABANDONED_MS: no job has the
 * top-up id. A top-up the log records already reserves nothing (a retry after it landed).
 */
@Controller()
export class ReserveTopUpHandler {
  /** Not for correctness (the account aggregate is): one replica's reservations of an org take turns. */
  private readonly orgTurns = new KeyedMutex();

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly reservations: Reservations,
  ) {}

  @CommandHandler(RESERVE)
  async reserveTopUp(@Payload() p: PayloadOf<typeof RESERVE>): Promise<ReplyOf<typeof RESERVE>> {
    const submitted = (await this.rt.events('job', p.jobId)).find((x): x is TradeEventOf<'JobSubmitted'> => x.type === 'JobSubmitted');
    if (!submitted || submitted.data.orgId !== p.orgId) throw new DomainError('JOB_NOT_FOUND', `no job ${p.jobId} in your org`);
    const landed = (await this.rt.events('contract', p.jobId)).some((e) => e.type === 'ContractToppedUp' && e.data.topUpId === p.topUpId);
    if (landed) return { reserved: false };
    const causation: Causation = { correlationId: p.jobId, causationId: p.requestId, actor: `org:${p.orgId}` };
    await this.orgTurns.run(p.orgId, () => this.reservations.reserve(p.orgId, p.topUpId, p.amountWei, causation));
    return { reserved: true };
  }
}
