import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { decodeEvent, type TradeEvent, type TradeEventOf } from '@starminer/events';
import { accountDecider, contractDecider, DomainError, validateFaucetAmount } from '@starminer/domain';
import { agpuBalance, ChainActionError, custodialAccount, jobIdToBytes32, mintAgpu, openComputeContract, type MarketAddresses } from '@starminer/chain';
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
const PERMANENT_OPEN_FAILURES = new Set(['ERC20InsufficientBalance', 'ERC2612ExpiredSignature', 'ERC2612InvalidSigner', 'InvalidDeadline', 'ZeroAmount', 'InvalidProvider', 'InsufficientAllowance', 'InsufficientBalance']);

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
    this.addresses = config.MARKET_ADDRESSES as unknown as MarketAddresses;
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
    if (!/^\d{1,78}$/.test(p.amountWei)) throw new DomainError('BAD_AMOUNT', 'invalid', 'amountWei must be a non-negative integer string');
    const amountWei = BigInt(p.amountWei);
    validateFaucetAmount(amountWei);
    const { state } = await this.rt.load('account', p.orgId, accountDecider);
    if (state.status !== 'active') throw new DomainError('ORG_NOT_FOUND', 'not-found', 'no such org');
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
    for (const stored of batch) {
      const e = stored.event as TradeEvent;
      if (e.type === 'JobMatched') await this.openContract(e);
    }
  }

  /** Opens the job's CSC on chain (idempotent per job id), then records it on the log. */
  private async openContract(matched: TradeEventOf<'JobMatched'>): Promise<void> {
    const jobId = matched.data.jobId;
    const causation = { correlationId: jobId, causationId: matched.id, actor: 'service:deployer' };
    const contract = await this.rt.load('contract', jobId, contractDecider);
    if (contract.state.status !== 'none') return; // already recorded: a redelivery
    const job = await this.rt.load('job', jobId, { evolve: (s: TradeEvent[], e: TradeEvent) => [...s, e], initialState: () => [] as TradeEvent[] });
    const submitted = job.events.find((x): x is TradeEventOf<'JobSubmitted'> => x.type === 'JobSubmitted');
    if (!submitted) throw new Error(`job ${jobId} has no JobSubmitted`);
    if (job.events.some((x) => x.type === 'JobCancelled' || x.type === 'JobFailed')) return;
    const account = (await this.rt.load('account', submitted.data.orgId, accountDecider)).state;
    if (account.status !== 'active') throw new Error(`org ${submitted.data.orgId} has no account`);
    const slot = await this.rt.db.getRepository(AccountRow).findOneOrFail({ where: { orgId: submitted.data.orgId } });
    const requester = custodialAccount(this.config.CUSTODY_MNEMONIC, slot.custodyIndex);
    // The deadline follows from the match's own time, so a retried open asks for the same terms.
    const deadlineUnixSec = Math.floor(Date.parse(matched.occurredAt) / 1000) + submitted.data.deadlineSec;
    const termsHash = termsHashOf(submitted.data, matched.data);
    try {
      const opened = await openComputeContract(this.deployerWallet, this.publicClient, {
        addresses: this.addresses,
        jobId,
        requester,
        provider: matched.data.nodeAddress as `0x${string}`,
        costWei: matched.data.costWei,
        expectedRuntimeSec: submitted.data.expectedRuntimeSec,
        deadlineSec: deadlineUnixSec,
        termsHash,
      });
      await this.rt.execute(
        'contract',
        jobId,
        contractDecider,
        {
          type: 'RecordOpened',
          opened: {
            jobId,
            chainJobId: jobIdToBytes32(jobId),
            contractAddress: opened.contractAddress,
            requesterAddress: requester.address,
            nodeAddress: matched.data.nodeAddress,
            escrowWei: matched.data.costWei,
            deadlineUnixSec,
            termsHash,
            txHash: opened.txHash,
            blockNumber: opened.blockNumber === null ? null : opened.blockNumber.toString(),
          },
        },
        causation,
      );
    } catch (err) {
      if (err instanceof ChainActionError && PERMANENT_OPEN_FAILURES.has(err.code)) {
        this.logger.warn(`job ${jobId}: contract not opened: ${err.code}`);
        await this.rt.execute('contract', jobId, contractDecider, { type: 'RecordOpenFailed', jobId, code: err.code, reason: err.message.slice(0, 900) }, causation);
        return;
      }
      throw err;
    }
  }
}
