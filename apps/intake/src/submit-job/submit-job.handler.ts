import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { DomainError, jobDecider, validateJobSpec } from '@starminer/domain';
import { COMMANDS, type PayloadOf, type ReplyOf, type TradeEventOf } from '@starminer/events';
import { CommandHandler, KeyedMutex, ServiceRuntime, type Causation } from '@starminer/service-kit';
import { Reservations } from '../reservations/reservations';

const SUBMIT = COMMANDS.intake.submitJob;

/**
 * `cmd.intake.submitJob`: a job enters its queue if its spec keeps the market's rules and its
 * budget is reserved on the org's account: the balance on chain less the open reservations, decided
 * with optimistic concurrency on the account's subject, so replicas never commit more than the
 * balance. The job id comes from the edge: a second submission of the same request answers the
 * first job; another request with that id is JOB_ID_IN_USE. A crash between the reservation and the
 * job leaves the reservation open: a retry finds it and goes on, and otherwise the abandoned sweep
 * releases it.
 */
@Controller()
export class SubmitJobHandler {
  /** Not for correctness (the account aggregate is): one replica's submissions of an org take turns, so they do not conflict on its subject. */
  private readonly orgTurns = new KeyedMutex();

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly reservations: Reservations,
  ) {}

  @CommandHandler(SUBMIT)
  async submitJob(@Payload() p: PayloadOf<typeof SUBMIT>): Promise<ReplyOf<typeof SUBMIT>> {
    return this.orgTurns.run(p.orgId, () => this.submit(p));
  }

  private async submit(p: PayloadOf<typeof SUBMIT>): Promise<ReplyOf<typeof SUBMIT>> {
    const jobId = p.jobId;
    const first = await this.existing(p);
    if (first) return first;
    // the market's rules before anything is reserved: a refused spec leaves nothing behind
    validateJobSpec(p.spec);
    const account = await this.reservations.account(p.orgId);
    const causation: Causation = { correlationId: jobId, causationId: p.requestId, actor: `org:${p.orgId}` };
    await this.reservations.reserve(p.orgId, jobId, p.spec.budgetWei, causation);
    let seqs: number[];
    try {
      ({ seqs } = await this.rt.execute(
        'job',
        jobId,
        jobDecider,
        // the reservation is the funds check: the job may draw exactly its budget
        { type: 'SubmitJob', jobId, orgId: p.orgId, requesterAddress: account.accountAddress, spec: p.spec, availableWei: p.spec.budgetWei },
        causation,
      ));
    } catch (err) {
      if (!(err instanceof DomainError && err.code === 'JOB_EXISTS')) throw err;
      // another submission with this id got there first: the same request answers its job
      const raced = await this.existing(p, { releaseIfOtherOrg: causation });
      if (raced) return raced;
      throw err;
    }
    await this.reservations.ensureReserved(p.orgId, jobId, p.spec.budgetWei, causation);
    return { jobId, seq: seqs[seqs.length - 1] };
  }

  /**
   * The job already submitted with this id: its answer when it is this org's and this request's,
   * JOB_ID_IN_USE otherwise; undefined when there is none.
   */
  private async existing(p: PayloadOf<typeof SUBMIT>, opts: { releaseIfOtherOrg?: Causation } = {}): Promise<ReplyOf<typeof SUBMIT> | undefined> {
    // through the runtime, so an unreadable job answers AGGREGATE_UNREADABLE
    const e = (await this.rt.events('job', p.jobId)).find((x): x is TradeEventOf<'JobSubmitted'> => x.type === 'JobSubmitted');
    if (!e) return undefined;
    if (e.data.orgId === p.orgId && e.causationId === p.requestId) {
      // its stream sequence, the answer the first submission gave (the subject's read is cached)
      const { events } = await this.rt.tradeLog.readSubject(this.rt.subject('job', p.jobId));
      const seq = events.find((x) => x.event.id === e.id)?.seq;
      if (seq !== undefined) return { jobId: p.jobId, seq };
    }
    // what this org reserved under an id another org's job holds is nobody's
    if (e.data.orgId !== p.orgId && opts.releaseIfOtherOrg) await this.reservations.release(p.orgId, p.jobId, 'abandoned', opts.releaseIfOtherOrg);
    throw new DomainError('JOB_ID_IN_USE', `job id ${p.jobId} belongs to another request`, { jobId: p.jobId });
  }
}
