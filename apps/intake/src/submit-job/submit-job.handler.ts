import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { DomainError, jobDecider, redundantCopyJobIds, validateJobSpec } from '@starminer/domain';
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
    if (p.spec.redundancy) return this.submitCopies(p, p.spec.redundancy.copies);
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
   * Redundancy (issue 17): the request becomes `copies` sibling jobs (libs/domain redundancy-group:
   * copy 0 keeps the job id, copy i is `<jobId>-c<i>`), each with its own reservation of the
   * budget, so the org pays for every copy. Every copy's budget is reserved before any copy is
   * queued: all or none (a refusal releases what this call reserved). A retry finds the copies
   * already submitted and goes on with the rest. Answers the job id (copy 0) and the last sequence.
   */
  private async submitCopies(p: PayloadOf<typeof SUBMIT>, copies: number): Promise<ReplyOf<typeof SUBMIT>> {
    validateJobSpec(p.spec); // copies, tolerances and the one GPU model before anything is reserved
    const ids = redundantCopyJobIds(p.jobId, copies);
    const seqs: number[] = [];
    const missing: { jobId: string; copyIndex: number }[] = [];
    for (const [copyIndex, jobId] of ids.entries()) {
      const first = await this.existing(p, {}, jobId);
      if (first) seqs.push(first.seq);
      else missing.push({ jobId, copyIndex });
    }
    if (missing.length === 0) return { jobId: p.jobId, seq: Math.max(...seqs) };
    const account = await this.reservations.account(p.orgId);
    const causationOf = (jobId: string): Causation => ({ correlationId: jobId, causationId: p.requestId, actor: `org:${p.orgId}` });
    const reserved: string[] = [];
    try {
      for (const { jobId } of missing) {
        await this.reservations.reserve(p.orgId, jobId, p.spec.budgetWei, causationOf(jobId));
        reserved.push(jobId);
      }
    } catch (err) {
      // the org cannot pay for every copy: nothing of this request stays reserved
      for (const jobId of reserved) await this.reservations.release(p.orgId, jobId, 'abandoned', causationOf(jobId));
      throw err;
    }
    for (const { jobId, copyIndex } of missing) {
      try {
        const { seqs: appended } = await this.rt.execute(
          'job',
          jobId,
          jobDecider,
          {
            type: 'SubmitJob',
            jobId,
            orgId: p.orgId,
            requesterAddress: account.accountAddress,
            spec: p.spec,
            availableWei: p.spec.budgetWei,
            copy: { groupId: p.jobId, copyIndex },
          },
          causationOf(jobId),
        );
        seqs.push(appended[appended.length - 1]);
      } catch (err) {
        if (!(err instanceof DomainError && err.code === 'JOB_EXISTS')) throw err;
        const raced = await this.existing(p, { releaseIfOtherOrg: causationOf(jobId) }, jobId);
        if (!raced) throw err;
        seqs.push(raced.seq);
      }
      await this.reservations.ensureReserved(p.orgId, jobId, p.spec.budgetWei, causationOf(jobId));
    }
    return { jobId: p.jobId, seq: Math.max(...seqs) };
  }

  /**
   * The job already submitted with this id (a redundant request's copy: `jobId`): its answer when it
   * is this org's and this request's, JOB_ID_IN_USE otherwise; undefined when there is none.
   */
  private async existing(p: PayloadOf<typeof SUBMIT>, opts: { releaseIfOtherOrg?: Causation } = {}, jobId: string = p.jobId): Promise<ReplyOf<typeof SUBMIT> | undefined> {
    // through the runtime, so an unreadable job answers AGGREGATE_UNREADABLE
    const e = (await this.rt.events('job', jobId)).find((x): x is TradeEventOf<'JobSubmitted'> => x.type === 'JobSubmitted');
    if (!e) return undefined;
    if (e.data.orgId === p.orgId && e.causationId === p.requestId) {
      // its stream sequence, the answer the first submission gave (the subject's read is cached)
      const { events } = await this.rt.tradeLog.readSubject(this.rt.subject('job', jobId));
      const seq = events.find((x) => x.event.id === e.id)?.seq;
      if (seq !== undefined) return { jobId, seq };
    }
    // what this org reserved under an id another org's job holds is nobody's
    if (e.data.orgId !== p.orgId && opts.releaseIfOtherOrg) await this.reservations.release(p.orgId, jobId, 'abandoned', opts.releaseIfOtherOrg);
    throw new DomainError('JOB_ID_IN_USE', `job id ${jobId} belongs to another request`, { jobId });
  }
}
