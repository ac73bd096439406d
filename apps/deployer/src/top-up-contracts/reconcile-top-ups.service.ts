import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { zeroHash, type Hex } from 'viem';
import { escrowAbi, idToBytes32, jobIdToBytes32 } from '@starminer/chain';
import { contractDecider, DomainError } from '@starminer/domain';
import { LIMITS, truncateText } from '@starminer/events';
import { ServiceRuntime, Ticker } from '@starminer/service-kit';
import { LessThan, LessThanOrEqual } from 'typeorm';
import { DeployerChain } from '../chain/deployer-chain';
import { PendingTopUpRow } from './pending-top-up.entity';

/** How often the reconciler looks. */
export const TOP_UP_RECONCILE_MS = 5_000;
/** A top-up reserved this recently may still be in its request: left alone until then. */
export const TOP_UP_GRACE_MS = 30_000;
/** Top-ups one round looks at; the rest wait for the next round (the longest waiting first). */
export const TOP_UP_ROWS_PER_ROUND_MAX = 50;
/** Between two checks of one top-up the wait doubles from the round's interval up to this. */
export const TOP_UP_CHECK_BACKOFF_MS_MAX = 5 * 60_000;

/** `refused`: the log refuses the paid top-up for good (e.g. the contract final before it was recorded): handed to an operator, not retried. */
export type TopUpCheck = 'recorded' | 'not-paid' | 'released' | 'refused' | 'failed';

/**
 * The top-ups' reconciler (issue 16): every chain action has one. The gateway's request reserves
 * the price, the deployer pays the top-up on chain and records ContractToppedUp; a crash between
 * the chain and the log, with no retry of the request, leaves a top-up the chain paid and the log
 * does not know (its deadline would be refunded at the old one). For each top-up reserved over
 * TOP_UP_GRACE_MS ago and not recorded, the escrow's own record (`topUpJobOf`) says whether it
 * paid: paid, it is recorded from its ComputeContractToppedUp event (TopUpContract, a no-op if a
 * retry recorded it meanwhile); not paid and its reservation released (the abandoned sweep), the
 * row goes; not paid yet, it is looked at again on a backoff.
 */
@Injectable()
export class ReconcileTopUpsService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('reconcile-top-ups');
  private readonly ticker = new Ticker('reconcile-top-ups', TOP_UP_RECONCILE_MS, async () => void (await this.round()), this.logger);

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly chain: DeployerChain,
  ) {}

  onApplicationBootstrap(): void {
    this.ticker.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.ticker.stop();
  }

  /** One round: what became of each top-up looked at, by its id. */
  async round(nowMs: number = Date.now()): Promise<Record<string, TopUpCheck>> {
    const rows = await this.rt.db.getRepository(PendingTopUpRow).find({
      where: { reservedAtMs: LessThan(String(nowMs - TOP_UP_GRACE_MS)), nextCheckAtMs: LessThanOrEqual(String(nowMs)) },
      order: { nextCheckAtMs: 'ASC' },
      take: TOP_UP_ROWS_PER_ROUND_MAX,
    });
    const out: Record<string, TopUpCheck> = {};
    for (const row of rows) out[row.topUpId] = await this.check(row, nowMs);
    return out;
  }

  private async check(row: PendingTopUpRow, nowMs: number): Promise<TopUpCheck> {
    const repo = this.rt.db.getRepository(PendingTopUpRow);
    try {
      const { publicClient, addresses } = this.chain;
      const jobKey = jobIdToBytes32(row.jobId);
      const topUpKey = idToBytes32(row.topUpId);
      const paidInto = await publicClient.readContract({ address: addresses.escrow, abi: escrowAbi(), functionName: 'topUpJobOf', args: [topUpKey] });
      if (paidInto === zeroHash) {
        if (row.releasedAtMs !== null) {
          await repo.delete({ topUpId: row.topUpId, releasedAtMs: row.releasedAtMs });
          return 'released';
        }
        await this.later(row, nowMs, null);
        return 'not-paid';
      }
      if (paidInto.toLowerCase() !== jobKey.toLowerCase()) throw new Error(`top-up ${row.topUpId} paid into another job's escrow (${paidInto}), not ${row.jobId}'s`);
      const [ev] = await publicClient.getContractEvents({
        address: addresses.escrow,
        abi: escrowAbi(),
        eventName: 'ComputeContractToppedUp',
        args: { jobId: jobKey as Hex, topUpId: topUpKey },
        fromBlock: BigInt(addresses.deployBlock ?? 0),
        toBlock: 'latest',
        strict: true,
      });
      if (!ev) throw new Error(`top-up ${row.topUpId} is recorded by the escrow but has no ComputeContractToppedUp event`);
      const a = ev.args;
      await this.rt.execute(
        'contract',
        row.jobId,
        contractDecider,
        {
          type: 'TopUpContract',
          topUpId: row.topUpId,
          extraCostWei: a.extraCostWei,
          extraRuntimeSec: a.extraRuntimeSec,
          newCostWei: a.newCostWei,
          newDeadlineUnixSec: a.newDeadline,
          toppedUpAtUnixSec: Number(a.toppedUpAt),
          txHash: ev.transactionHash,
          blockNumber: ev.blockNumber.toString(),
        },
        { correlationId: row.jobId, causationId: row.topUpId, actor: 'service:deployer' },
      );
      this.logger.warn(`job ${row.jobId}: top-up ${row.topUpId} was paid on chain (tx ${ev.transactionHash}) but not recorded; recorded now`);
      // the projection removes the row once it applies the ContractToppedUp; until then not every round
      await this.later(row, nowMs, null);
      return 'recorded';
    } catch (err) {
      if (err instanceof DomainError) {
        // a refusal of the log's rules is for good (the contract was released or refunded before the
        // paid top-up was recorded): retrying it would go on for ever. The chain audit shows the
        // transfer; an operator settles it with the requester.
        this.logger.error(
          `top-up ${row.topUpId} of job ${row.jobId} was paid on chain but the log refuses it for good (${err.code}: ${err.message}); left to an operator (npm run audit -- chain shows the transfer)`,
        );
        await repo.delete({ topUpId: row.topUpId });
        return 'refused';
      }
      const message = ((err as Error).message ?? String(err)).split('\n')[0]!;
      this.logger.warn(`top-up ${row.topUpId} of job ${row.jobId}: not reconciled (${message}); looked at again later`);
      await this.later(row, nowMs, message).catch(() => undefined);
      return 'failed';
    }
  }

  private async later(row: PendingTopUpRow, nowMs: number, lastError: string | null): Promise<void> {
    const checks = row.checks + 1;
    const waitMs = Math.min(TOP_UP_CHECK_BACKOFF_MS_MAX, TOP_UP_RECONCILE_MS * 2 ** Math.min(checks - 1, 16));
    await this.rt.db
      .getRepository(PendingTopUpRow)
      .update({ topUpId: row.topUpId }, { checks, nextCheckAtMs: String(nowMs + waitMs), lastError: lastError === null ? null : truncateText(lastError, LIMITS.reasonLengthMax) });
  }
}
