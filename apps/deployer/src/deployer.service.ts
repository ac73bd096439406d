import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { decodeEvent, type TradeEvent, type TradeEventOf } from '@starminer/events';
import { accountDecider, contractDecider, DomainError, parseWei, validateFaucetAmount } from '@starminer/domain';
import {
  agpuBalance,
  ChainActionError,
  custodialAccount,
  jobIdToBytes32,
  MAX_OPEN_BATCH,
  OPEN_REJECTION_CODES,
  mintAgpu,
  openComputeContract,
  openComputeContractsBatch,
  type BatchJob,
  type MarketAddresses,
} from '@starminer/chain';
import type { ConsumerHandle, StoredEvent } from '@starminer/trade-log';
import { publicClientFor, serveCommand, ServiceRuntime, walletClientFor } from '@starminer/service-kit';
import { AccountRow } from './account-row.entity';
import type { DeployerConfig } from './deployer.config';
import { termsHashOf } from './terms';

export const DEPLOYER_CONFIG = Symbol('DEPLOYER_CONFIG');

/**
 * Chain reverts that no retry will cure: the job's contract is recorded as failed to open.
 * Anything else (RPC down, nonce race) is retried by redelivery.
 */
const PERMANENT_OPEN_FAILURES = OPEN_REJECTION_CODES;

@Injectable()
export class DeployerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('deployer');
  private readonly publicClient;
  private readonly deployerWallet;
  private readonly minterWallet;
  private readonly addresses: MarketAddresses;
  private matches?: ConsumerHandle;

  constructor(
    private readonly rt: ServiceRuntime,
    @Inject(DEPLOYER_CONFIG) private readonly config: DeployerConfig,
  ) {
    this.publicClient = publicClientFor(config);
    this.deployerWallet = walletClientFor(config, config.DEPLOYER_PRIVATE_KEY);
    this.minterWallet = walletClientFor(config, config.MINTER_PRIVATE_KEY);
    this.addresses = config.MARKET_ADDRESSES;
  }

  async onApplicationBootstrap(): Promise<void> {
    serveCommand(this.rt.nc, this.rt.commandSubject('deployer', 'allocateAccount'), (p: { orgId: string }) => this.allocateAccount(p.orgId), (m) => this.logger.error(m));
    serveCommand(this.rt.nc, this.rt.commandSubject('deployer', 'mint'), (p: { orgId: string; amountWei: string; requestId: string }) => this.mint(p), (m) => this.logger.error(m));
    this.matches = await this.rt.tradeLog.consume({
      durable: 'deployer-matches',
      filterSubjects: [this.rt.filter('job')],
      decode: decodeEvent,
      handler: (batch: StoredEvent[]) => this.onJobEvents(batch),
    });
    this.logger.log('deployer ready');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.matches?.stop();
    await this.rt.close();
  }

  /** Allocates (once) the custodial HD slot of an org and returns its address. */
  async allocateAccount(orgId: string): Promise<{ accountAddress: string; custodyIndex: number }> {
    const repo = this.rt.db.getRepository(AccountRow);
    await repo.createQueryBuilder().insert().into(AccountRow).values({ orgId }).orIgnore().execute();
    const row = await repo.findOneOrFail({ where: { orgId } });
    return { accountAddress: custodialAccount(this.config.CUSTODY_MNEMONIC, row.custodyIndex).address, custodyIndex: row.custodyIndex };
  }

  /** The dev faucet: mint AGPU to an org's account, then record it on the log. */
  async mint(p: { orgId: string; amountWei: string; requestId: string }): Promise<{ txHash: string; balanceWei: string }> {
    const amountWei = parseWei('amountWei', p.amountWei);
    validateFaucetAmount(amountWei);
    const { state } = await this.rt.load('account', p.orgId, accountDecider);
    if (state.status !== 'active') throw new DomainError('ORG_NOT_FOUND', 'no such org');
    const to = state.accountAddress as `0x${string}`;
    const { txHash } = await mintAgpu(this.minterWallet, this.publicClient, { token: this.addresses.token, to, amountWei });
    await this.rt.execute('account', p.orgId, accountDecider, { type: 'RecordFunding', amountWei, txHash }, {
      correlationId: p.orgId,
      causationId: p.requestId,
      actor: 'service:deployer',
    });
    const balanceWei = await agpuBalance(this.publicClient, { token: this.addresses.token, account: to });
    return { txHash, balanceWei: balanceWei.toString() };
  }

  private async onJobEvents(batch: StoredEvent[]): Promise<void> {
    const opens: PendingOpen[] = [];
    for (const stored of batch) {
      const e = stored.event as TradeEvent;
      if (e.type !== 'JobMatched') continue;
      const pending = await this.prepareOpen(e);
      if (pending) opens.push(pending);
    }
    for (let i = 0; i < opens.length; i += MAX_OPEN_BATCH) await this.openChunk(opens.slice(i, i + MAX_OPEN_BATCH));
  }

  /** What one open needs, read from the job's and the org's subjects; undefined when nothing is to be done. */
  private async prepareOpen(matched: TradeEventOf<'JobMatched'>): Promise<PendingOpen | undefined> {
    const jobId = matched.data.jobId;
    const contract = await this.rt.load('contract', jobId, contractDecider);
    if (contract.state.status !== 'none') return undefined; // already recorded: a redelivery
    const job = await this.rt.events('job', jobId);
    const submitted = job.find((x): x is TradeEventOf<'JobSubmitted'> => x.type === 'JobSubmitted');
    if (!submitted) throw new Error(`job ${jobId} has no JobSubmitted`);
    if (job.some((x) => x.type === 'JobCancelled' || x.type === 'JobFailed')) return undefined;
    const slot = await this.rt.db.getRepository(AccountRow).findOneOrFail({ where: { orgId: submitted.data.orgId } });
    const requester = custodialAccount(this.config.CUSTODY_MNEMONIC, slot.custodyIndex);
    // The deadline follows from the match's own time, so a retried open asks for the same terms.
    const deadlineUnixSec = Math.floor(Date.parse(matched.occurredAt) / 1000) + submitted.data.deadlineSec;
    return {
      matched,
      params: {
        jobId,
        requester,
        provider: matched.data.nodeAddress as `0x${string}`,
        costWei: matched.data.costWei,
        expectedRuntimeSec: submitted.data.expectedRuntimeSec,
        deadlineSec: deadlineUnixSec,
        termsHash: termsHashOf(submitted.data, matched.data),
      },
    };
  }

  /**
   * Several matches in one transaction (so the chain is not the bottleneck under load); if the
   * batch reverts (one requester short of funds, say), each is opened alone so the others go on.
   */
  private async openChunk(chunk: PendingOpen[]): Promise<void> {
    if (chunk.length > 1) {
      try {
        const r = await openComputeContractsBatch(this.deployerWallet, this.publicClient, { addresses: this.addresses, jobs: chunk.map((c) => c.params) });
        for (const c of chunk) await this.recordOpened(c, r.contractAddress, r.txHash, r.blockNumber);
        return;
      } catch (err) {
        this.logger.warn(`batch open of ${chunk.length} failed (${(err as { code?: string }).code ?? (err as Error).message}); opening one by one`);
      }
    }
    for (const c of chunk) await this.openOne(c);
  }

  private async openOne(c: PendingOpen): Promise<void> {
    try {
      const opened = await openComputeContract(this.deployerWallet, this.publicClient, { addresses: this.addresses, ...c.params });
      await this.recordOpened(c, opened.contractAddress, opened.txHash, opened.blockNumber);
    } catch (err) {
      if (err instanceof ChainActionError && PERMANENT_OPEN_FAILURES.has(err.code)) {
        this.logger.warn(`job ${c.params.jobId}: contract not opened: ${err.code}`);
        await this.rt.execute('contract', c.params.jobId, contractDecider, { type: 'RecordOpenFailed', jobId: c.params.jobId, code: err.code, reason: err.message.slice(0, 900) }, this.causation(c));
        return;
      }
      throw err;
    }
  }

  private async recordOpened(c: PendingOpen, contractAddress: string, txHash: string | null, blockNumber: bigint | null): Promise<void> {
    const { jobId, requester, costWei, deadlineSec, termsHash } = c.params;
    await this.rt.execute(
      'contract',
      jobId,
      contractDecider,
      {
        type: 'RecordOpened',
        opened: {
          jobId,
          chainJobId: jobIdToBytes32(jobId),
          contractAddress,
          requesterAddress: requester.address,
          nodeAddress: c.matched.data.nodeAddress,
          escrowWei: costWei,
          deadlineUnixSec: deadlineSec,
          termsHash,
          txHash,
          blockNumber: blockNumber === null ? null : blockNumber.toString(),
        },
      },
      this.causation(c),
    );
  }

  private causation(c: PendingOpen) {
    return { correlationId: c.params.jobId, causationId: c.matched.id, actor: 'service:deployer' };
  }
}

interface PendingOpen {
  readonly matched: TradeEventOf<'JobMatched'>;
  readonly params: BatchJob;
}
