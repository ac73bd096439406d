import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { agpuBalance } from '@starminer/chain';
import { accountDecider, DomainError, jobDecider } from '@starminer/domain';
import { COMMANDS, type PayloadOf, type ReplyOf } from '@starminer/events';
import { CommandHandler, InjectConfig, KeyedMutex, publicClientFor, ServiceRuntime } from '@starminer/service-kit';
import type { IntakeConfig } from '../intake.config';
import { JobHoldsProjection } from '../job-holds/job-holds.projection';

const SUBMIT = COMMANDS.intake.submitJob;

/**
 * `cmd.intake.submitJob`: a job enters its queue if its spec keeps the market's rules and its
 * budget fits the org's spendable AGPU (balance on chain less what its unsettled jobs hold). The
 * check and the append run under one lock per org, and the hold is in the read model before the
 * next submission of the org is checked.
 */
@Controller()
export class SubmitJobHandler {
  private readonly orgLocks = new KeyedMutex();
  private readonly publicClient;

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly holds: JobHoldsProjection,
    @InjectConfig() private readonly config: IntakeConfig,
  ) {
    this.publicClient = publicClientFor(config);
  }

  @CommandHandler(SUBMIT)
  async submitJob(@Payload() p: PayloadOf<typeof SUBMIT>): Promise<ReplyOf<typeof SUBMIT>> {
    return this.orgLocks.run(p.orgId, async () => {
      const account = (await this.rt.load('account', p.orgId, accountDecider)).state;
      if (account.status !== 'active') throw new DomainError('ORG_NOT_FOUND', 'no such org');
      const availableWei = await this.availableWei(p.orgId, account.accountAddress);
      const jobId = p.jobId;
      const { seqs } = await this.rt.execute(
        'job',
        jobId,
        jobDecider,
        { type: 'SubmitJob', jobId, orgId: p.orgId, requesterAddress: account.accountAddress, spec: p.spec, availableWei },
        { correlationId: jobId, causationId: p.requestId, actor: `org:${p.orgId}` },
      );
      const seq = seqs[seqs.length - 1];
      await this.holds.waitUntil(seq);
      return { jobId, seq };
    });
  }

  private async availableWei(orgId: string, address: string): Promise<bigint> {
    // a job of this org that the holds could not take in would make its funds look larger than they are
    const review = await this.holds.orgsUnderReview();
    if (review.all || review.orgs.has(orgId)) {
      throw new DomainError('FUNDS_UNDER_REVIEW', "an event of this org's jobs is parked; its funds cannot be checked until an operator re-applies it");
    }
    const balanceWei = await agpuBalance(this.publicClient, { token: this.config.MARKET_ADDRESSES.token, account: address as `0x${string}` });
    const heldWei = await this.holds.heldWei(orgId);
    return balanceWei > heldWei ? balanceWei - heldWei : 0n;
  }
}
