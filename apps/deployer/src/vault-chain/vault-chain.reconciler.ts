import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Raw } from 'typeorm';
import { ChainActionError, closeVault, openVault, setVaultPaused, updateVaultTemplate, type ChainWalletClient } from '@starminer/chain';
import { vaultChainPlan, vaultDecider, type VaultChainAction, type VaultState } from '@starminer/domain';
import { LIMITS, truncateText } from '@starminer/events';
import { InjectConfig, ServiceRuntime, Ticker, type Causation } from '@starminer/service-kit';
import { CustodySlots, type CustodySlot } from '../accounts/custody-slots';
import { DeployerChain } from '../chain/deployer-chain';
import type { DeployerConfig } from '../deployer.config';
import { VaultChainRow } from './vault-chain-row.entity';

/** Vaults one round looks at; the rest wait for the next round. */
export const VAULT_SYNC_ROWS_PER_ROUND_MAX = 20;
/** Chain actions one vault gets in one round (open, template, status, close: at most four are ever due). */
export const VAULT_SYNC_ACTIONS_PER_VAULT_MAX = 4;
/** The longest a failing vault waits between attempts. */
export const VAULT_SYNC_RETRY_DELAY_MS_MAX = 300_000;
/** Reverts of an open that no retry cures (the deposit not covered, the terms refused): the open is given up (VaultOpenFailed). */
export const VAULT_OPEN_REJECTION_CODES: ReadonlySet<string> = new Set(['InvalidTerms', 'ZeroAmount', 'ZeroAddress', 'PermitFailed', 'ERC20InsufficientBalance']);

type Known = Exclude<VaultState, { status: 'none' }>;

/**
 * Keeps each vault on chain (ComputeVaults) as the log has it: opens it with its deposit from the
 * org's custodial account (which signs the terms and the permit), moves its template, pauses,
 * resumes and closes it (the remainder back to the owner), each signed by the owner and relayed by
 * the deployer key, then records VaultChainSynced once its receipt is final. Restart-safe and
 * idempotent: the plan is folded from the log each time, every chain action first reads the vault
 * on chain and sends nothing when it already is so, and the decider records a state once. A
 * failure is retried with a doubling delay; an open the chain refuses for good is VaultOpenFailed.
 */
@Injectable()
export class VaultChainReconciler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('vault-chain');
  private readonly ticker: Ticker;

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly chain: DeployerChain,
    private readonly slots: CustodySlots,
    @InjectConfig() private readonly config: DeployerConfig,
  ) {
    this.ticker = new Ticker('vault-chain', config.DEPLOYER_OPEN_RECONCILE_MS, async () => void (await this.round()));
  }

  onApplicationBootstrap(): void {
    this.ticker.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.ticker.stop();
  }

  /** One round: the vaults whose log moved past what was checked, due now. Returns how many chain actions it recorded. */
  async round(nowMs: number = Date.now()): Promise<number> {
    const rows = await this.rt.db.getRepository(VaultChainRow).find({
      where: { lastSeq: Raw((seq) => `${seq} > "checkedSeq"`), nextAttemptAtMs: Raw((at) => `${at} <= :now`, { now: String(nowMs) }) },
      order: { nextAttemptAtMs: 'ASC' },
      take: VAULT_SYNC_ROWS_PER_ROUND_MAX,
    });
    let actions = 0;
    for (const row of rows) {
      try {
        actions += await this.sync(row);
      } catch (err) {
        await this.retryLater(row, nowMs, err);
      }
    }
    return actions;
  }

  /** Brings one vault in step (or as far as VAULT_SYNC_ACTIONS_PER_VAULT_MAX goes): the chain actions it recorded. */
  private async sync(row: VaultChainRow): Promise<number> {
    for (let i = 0; i < VAULT_SYNC_ACTIONS_PER_VAULT_MAX; i += 1) {
      const { state } = await this.rt.load('vault', row.vaultId, vaultDecider);
      const plan = vaultChainPlan(state);
      if (state.status === 'none' || plan === undefined) {
        await this.rt.db.getRepository(VaultChainRow).update({ vaultId: row.vaultId }, { checkedSeq: row.lastSeq, attempts: 0, lastError: null });
        return i;
      }
      const slot = await this.slots.find(state.orgId);
      if (!slot) throw new Error(`org ${state.orgId} has no custodial account slot: nobody can sign for vault ${row.vaultId}`);
      await this.act(state, plan, slot);
    }
    return VAULT_SYNC_ACTIONS_PER_VAULT_MAX;
  }

  private async act(v: Known, plan: VaultChainAction, slot: CustodySlot): Promise<void> {
    const { publicClient, addresses } = this.chain;
    const p = { addresses, vaultId: v.vaultId, owner: slot.account };
    const send = <T>(fn: (wallet: ChainWalletClient) => Promise<T>) => this.chain.asDeployer(fn);
    const causation: Causation = { correlationId: v.vaultId, causationId: v.vaultId, actor: 'service:deployer' };
    let r: { txHash: string | null; blockNumber: bigint | null; remainderWei?: bigint };
    try {
      switch (plan) {
        case 'open':
          r = await send((w) => openVault(w, publicClient, { ...p, capPerPeriodWei: v.capPerPeriodWei, periodSec: v.periodSec, templateHash: v.template.templateHash as `0x${string}`, depositWei: v.depositWei }));
          break;
        case 'template':
          r = await send((w) => updateVaultTemplate(w, publicClient, { ...p, templateHash: v.template.templateHash as `0x${string}` }));
          break;
        case 'pause':
        case 'resume':
          r = await send((w) => setVaultPaused(w, publicClient, { ...p, paused: plan === 'pause' }));
          break;
        case 'close': {
          const closed = await send((w) => closeVault(w, publicClient, p));
          r = { ...closed, ...(closed.alreadyClosed ? {} : { remainderWei: closed.remainderWei }) };
          break;
        }
      }
    } catch (err) {
      if (plan === 'open' && err instanceof ChainActionError && VAULT_OPEN_REJECTION_CODES.has(err.code)) {
        this.logger.warn(`vault ${v.vaultId}: not opened on chain: ${err.code}`);
        const failed = { type: 'RecordOpenFailed', code: truncateText(err.code, LIMITS.codeLengthMax), reason: truncateText(err.message, LIMITS.reasonLengthMax) } as const;
        await this.rt.execute('vault', v.vaultId, vaultDecider, failed, causation);
        return;
      }
      throw err;
    }
    await this.rt.execute(
      'vault',
      v.vaultId,
      vaultDecider,
      {
        type: 'RecordChainSynced',
        action: plan,
        txHash: r.txHash,
        blockNumber: r.blockNumber === null ? null : r.blockNumber.toString(),
        ...(r.remainderWei === undefined ? {} : { remainderWei: r.remainderWei }),
      },
      causation,
    );
  }

  private async retryLater(row: VaultChainRow, nowMs: number, err: unknown): Promise<void> {
    const attempts = row.attempts + 1;
    const delayMs = Math.min(VAULT_SYNC_RETRY_DELAY_MS_MAX, this.config.DEPLOYER_OPEN_RETRY_BASE_MS * 2 ** Math.min(attempts - 1, 20));
    const message = err instanceof ChainActionError ? `${err.code}: ${err.message}` : (err as Error).message;
    this.logger.warn(`vault ${row.vaultId}: chain not in step (attempt ${attempts}, next in ${delayMs} ms): ${message}`);
    await this.rt.db
      .getRepository(VaultChainRow)
      .update({ vaultId: row.vaultId }, { attempts, nextAttemptAtMs: String(nowMs + delayMs), lastError: truncateText(message, LIMITS.reasonLengthMax) });
  }
}
