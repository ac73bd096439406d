import { Injectable, Logger } from '@nestjs/common';
import type { Address, Hex } from 'viem';
import { ChainActionError, drawVault, jobIdToBytes32, readComputeContract, type DrawVaultParams } from '@starminer/chain';
import { contractDecider } from '@starminer/domain';
import { LIMITS, truncateText, type TradeEventOf } from '@starminer/events';
import { ServiceRuntime } from '@starminer/service-kit';
import { PoisonEventError } from '@starminer/trade-log';
import { DeployerChain } from '../chain/deployer-chain';
import { isPoison, OpenContractsConsumer, type OpenOutcome } from '../open-contracts/open-contracts.consumer';
import { termsHashOf } from '../open-contracts/terms';

/**
 * Reverts of a draw that no retry cures: the vault refuses the job (over the period's cap, short of
 * balance, paused or closed, another template, a cost over the template's budget or another
 * runtime, a requester other than its owner) or the escrow refuses its terms. The job's open is
 * then ContractOpenFailed with the code, and the job ends as any failed open (matching frees its
 * GPUs; nothing was drawn, so nothing is refunded). `UnknownVault` is not here: the vault may not
 * be open on chain yet (vault-chain opens it), so the draw is retried until the open's give-up.
 */
export const VAULT_DRAW_REJECTION_CODES: ReadonlySet<string> = new Set([
  'CapExceeded',
  'InsufficientVaultBalance',
  'VaultIsPaused',
  'VaultIsClosed',
  'TemplateNotAllowed',
  'OverTemplateBudget',
  'TemplateRuntimeMismatch',
  'NotVaultOwner',
  'ZeroJobId',
  'ZeroAddress',
  'ZeroCost',
  'DeadlineInPast',
  'JobIdConflict',
  'CostOutOfRange',
  'RuntimeOutOfRange',
  'DeadlineOutOfRange',
]);

/** One vault job's draw: its JobMatched and what the chain needs. */
export interface PendingDraw {
  readonly matched: TradeEventOf<'JobMatched'>;
  readonly params: Omit<DrawVaultParams, 'addresses'>;
}

/**
 * A vault's job's escrow, drawn from its vault on chain (ComputeVaults.draw: the template's terms,
 * the match's provider, cost and deadline), then recorded as ContractOpened like any open, so
 * settlement, the views and the audit treat it as any contract. The ids come from the log (the job
 * id is the firing's), so every retry (consumer, reconciler) draws the same job: the chain's
 * escrow refuses a second open of a job id and drawVault reads it first (already open: nothing
 * drawn, the open's own transaction recorded). A receipt counts once final (libs/chain receipts).
 */
@Injectable()
export class VaultDraws {
  private readonly logger = new Logger('vault-draws');

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly chain: DeployerChain,
    private readonly opens: OpenContractsConsumer,
  ) {}

  /** The draw of a matched vault job; undefined when the job is not a vault's, ended, or its contract is already recorded. */
  async prepare(matched: TradeEventOf<'JobMatched'>): Promise<PendingDraw | undefined> {
    const jobId = matched.data.jobId;
    if ((await this.rt.load('contract', jobId, contractDecider)).state.status !== 'none') return undefined;
    const job = await this.rt.events('job', jobId);
    const submitted = job.find((x): x is TradeEventOf<'JobSubmitted'> => x.type === 'JobSubmitted');
    if (!submitted) throw new PoisonEventError(`job ${jobId} has no JobSubmitted on the log: its contract has no terms and can never be drawn`);
    const vault = submitted.data.vault;
    if (!vault) return undefined;
    if (job.some((x) => x.type === 'JobCancelled' || x.type === 'JobFailed')) return undefined;
    return {
      matched,
      params: {
        vaultId: vault.vaultId,
        template: { specHash: vault.specHash as Hex, budgetWei: submitted.data.budgetWei, expectedRuntimeSec: submitted.data.expectedRuntimeSec },
        jobId,
        requester: submitted.data.requesterAddress as Address,
        provider: matched.data.nodeAddress as Address,
        costWei: matched.data.costWei,
        deadlineSec: Math.floor(Date.parse(matched.occurredAt) / 1000) + submitted.data.deadlineSec,
        termsHash: termsHashOf(submitted.data, matched.data),
      },
    };
  }

  /** Draws one job's escrow and records the outcome; a failure a retry may cure is returned, not thrown. */
  async drawOne(d: PendingDraw): Promise<OpenOutcome> {
    const { publicClient, addresses } = this.chain;
    const jobId = d.params.jobId;
    let drawn;
    try {
      // under the deployer key's lock, as the open reconciler's give-up: never a draw after it
      drawn = await this.chain.asDeployer(async (wallet) => {
        if ((await this.rt.load('contract', jobId, contractDecider)).state.status !== 'none') return undefined;
        return drawVault(wallet, publicClient, { addresses, ...d.params });
      });
    } catch (err) {
      if (err instanceof ChainActionError && VAULT_DRAW_REJECTION_CODES.has(err.code)) {
        this.logger.warn(`job ${jobId}: not drawn from vault ${d.params.vaultId}: ${err.code}`);
        const failed = { type: 'RecordOpenFailed', jobId, code: truncateText(err.code, LIMITS.codeLengthMax), reason: truncateText(err.message, LIMITS.reasonLengthMax) } as const;
        await this.rt.execute('contract', jobId, contractDecider, failed, this.opens.causation(d.matched));
        return { kind: 'rejected' };
      }
      if (isPoison(err)) throw err;
      return { kind: 'deferred', error: err instanceof ChainActionError ? `${err.code}: ${err.message}` : (err as Error).message };
    }
    if (!drawn) return { kind: 'skipped' };
    let { txHash, blockNumber } = drawn;
    if (txHash === null) {
      // drawn before (a retry): the transaction that opened it, as the chain's event names it
      const onChain = await readComputeContract(publicClient, { addresses, jobId });
      txHash = onChain.openTxHash;
      blockNumber = onChain.openBlockNumber;
    }
    await this.opens.recordOpenedData(
      {
        jobId,
        chainJobId: jobIdToBytes32(jobId),
        contractAddress: drawn.contractAddress,
        requesterAddress: d.params.requester,
        nodeAddress: d.matched.data.nodeAddress,
        escrowWei: d.params.costWei,
        deadlineUnixSec: d.params.deadlineSec,
        termsHash: d.params.termsHash,
        txHash,
        blockNumber: blockNumber === null ? null : blockNumber.toString(),
      },
      d.matched,
    );
    return { kind: 'opened' };
  }
}
