import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { LessThan, In, type EntityManager } from 'typeorm';
import { decodeEvent, type TradeEvent, type TradeEventOf } from '@starminer/events';
import { contractDecider, DomainError, verifyWorkloadResult } from '@starminer/domain';
import { keccak256, stringToBytes } from 'viem';
import {
  ChainActionError,
  disputeComputeContract,
  readComputeContract,
  recoverResultSigner,
  refundComputeContract,
  releaseComputeContract,
  type MarketAddresses,
} from '@starminer/chain';
import type { ConsumerHandle, ProjectionRunner, StoredEvent } from '@starminer/trade-log';
import { publicClientFor, serveCommand, ServiceRuntime, Ticker, walletClientFor } from '@starminer/service-kit';
import { ContractRow, LedgerEntry } from './entities';
import { Slashing } from './slashing';
import type { SettlementConfig } from './settlement.config';

export const SETTLEMENT_CONFIG = Symbol('SETTLEMENT_CONFIG');

const DEADLINE_SCAN_MS = 2_000;
const DEADLINE_SCAN_ROWS_MAX = 100;
/** A decided settlement whose chain call has not been recorded after this long is driven again. */
const SETTLING_STALE_MS = 30_000;

export class RetryLaterError extends Error {
  override readonly name = 'RetryLaterError';
  readonly code = 'RETRY_LATER';
}

export interface SubmitResultPayload {
  readonly jobId: string;
  readonly nodeId: string;
  /** The key that signed the HTTP request (checked by the gateway). */
  readonly nodeAddress: string;
  readonly output: string;
  readonly resultHash: string;
  readonly proofHash: string;
  readonly signature: string;
}

@Injectable()
export class SettlementService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('settlement');
  private readonly publicClient;
  private readonly wallet;
  private readonly addresses: MarketAddresses;
  private projection!: ProjectionRunner;
  private executor?: ConsumerHandle;
  private readonly deadlines = new Ticker('deadlines', DEADLINE_SCAN_MS, () => this.scan());
  private readonly slashing: Slashing;

  constructor(
    private readonly rt: ServiceRuntime,
    @Inject(SETTLEMENT_CONFIG) private readonly config: SettlementConfig,
  ) {
    this.publicClient = publicClientFor(config);
    this.wallet = walletClientFor(config, config.SETTLEMENT_PRIVATE_KEY);
    this.addresses = config.MARKET_ADDRESSES;
    this.slashing = new Slashing(rt, this.wallet, this.publicClient, this.addresses);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.projection = this.rt.projection('contracts', [this.rt.filter('contract')], (em, e) => this.apply(em, e));
    await this.projection.start();
    this.executor = await this.rt.tradeLog.consume({
      durable: 'settlement-executor',
      filterSubjects: [this.rt.filter('contract')],
      decode: decodeEvent,
      handler: (batch: StoredEvent[]) => this.onContractEvents(batch),
    });
    serveCommand(this.rt.nc, this.rt.commandSubject('settlement', 'startJob'), (p: { jobId: string; nodeId: string; nodeAddress: string }) => this.start(p), (m) => this.logger.error(m));
    serveCommand(this.rt.nc, this.rt.commandSubject('settlement', 'submitResult'), (p: SubmitResultPayload) => this.submitResult(p), (m) => this.logger.error(m));
    this.deadlines.start();
    this.logger.log('settlement ready');
  }

  async onApplicationShutdown(): Promise<void> {
    this.deadlines.stop();
    await this.executor?.stop();
    await this.projection?.stop();
    await this.rt.close();
  }

  async start(p: { jobId: string; nodeId: string; nodeAddress: string }): Promise<{ status: string }> {
    const { state } = await this.rt.execute('contract', p.jobId, contractDecider, { type: 'StartJob', nodeId: p.nodeId, signerAddress: p.nodeAddress }, {
      correlationId: p.jobId,
      causationId: p.jobId,
      actor: `node:${p.nodeId}`,
    });
    return { status: state.status };
  }

  /** Verifies the node's EIP-712 signature and recomputes the workload, then lets the decider rule. */
  async submitResult(p: SubmitResultPayload): Promise<{ status: string; outcome: string }> {
    const submitted = (await this.rt.events('job', p.jobId)).find((x): x is TradeEventOf<'JobSubmitted'> => x.type === 'JobSubmitted');
    if (!submitted) throw new DomainError('JOB_NOT_FOUND', 'no such job');
    let signerAddress: string;
    try {
      signerAddress = await recoverResultSigner({
        addresses: this.addresses,
        chainId: this.config.CHAIN_ID,
        jobId: p.jobId,
        resultHash: p.resultHash as `0x${string}`,
        proofHash: p.proofHash as `0x${string}`,
        signature: p.signature as `0x${string}`,
      });
    } catch {
      throw new DomainError('BAD_RESULT_SIGNATURE', 'the result signature does not verify');
    }
    if (signerAddress.toLowerCase() !== p.nodeAddress.toLowerCase()) throw new DomainError('BAD_RESULT_SIGNATURE', 'the result is signed by another key than the request');
    const verification = verifyWorkloadResult(submitted.data.workload, p);
    const { state } = await this.rt.execute(
      'contract',
      p.jobId,
      contractDecider,
      {
        type: 'SubmitResult',
        nodeId: p.nodeId,
        signerAddress,
        resultHash: p.resultHash,
        proofHash: p.proofHash,
        signature: p.signature,
        output: p.output,
        verification,
        nowUnixSec: Math.floor(Date.now() / 1000),
      },
      { correlationId: p.jobId, causationId: p.jobId, actor: `node:${p.nodeId}` },
    );
    return { status: state.status, outcome: verification.ok ? 'release' : 'refund' };
  }

  private async onContractEvents(batch: StoredEvent[]): Promise<void> {
    for (const { event } of batch) {
      const e = event as TradeEvent;
      if (e.type === 'SettlementDecided') await this.execute(e.data.jobId, e.id);
      if (e.type === 'ContractRefunded') await this.slashing.afterRefund(e);
    }
  }

  /** Carries a decided settlement to the chain and records the transaction; safe to run twice. */
  async execute(jobId: string, causationId: string): Promise<void> {
    const { state, events } = await this.rt.load('contract', jobId, contractDecider);
    if (state.status !== 'settling') return; // already recorded
    const causation = { correlationId: jobId, causationId, actor: 'service:settlement' };
    try {
      if (state.outcome === 'release') {
        const result = [...events].reverse().find((x): x is TradeEventOf<'ResultSubmitted'> => x.type === 'ResultSubmitted');
        if (!result) throw new Error(`job ${jobId} is settling to release without a result`);
        const r = await releaseComputeContract(this.wallet, this.publicClient, {
          addresses: this.addresses,
          jobId,
          resultHash: result.data.resultHash as `0x${string}`,
          proofHash: result.data.proofHash as `0x${string}`,
          providerSignature: result.data.signature as `0x${string}`,
        });
        await this.rt.execute('contract', jobId, contractDecider, { type: 'RecordReleased', amountWei: r.amountWei, txHash: r.txHash }, causation);
      } else {
        const r = await this.refundNow(jobId, events);
        await this.rt.execute('contract', jobId, contractDecider, { type: 'RecordRefunded', amountWei: r.amountWei, txHash: r.txHash }, causation);
      }
    } catch (err) {
      if (err instanceof ChainActionError && err.code === 'AlreadySettled') {
        // The chain went the other way first (e.g. the requester's public refund): record the truth.
        const chain = await readComputeContract(this.publicClient, { addresses: this.addresses, jobId });
        if (chain.status === 'released' || chain.status === 'refunded') {
          this.logger.warn(`job ${jobId}: decided ${state.outcome} but the chain shows ${chain.status}; recording the chain`);
          const command = chain.status === 'released' ? ('RecordReleased' as const) : ('RecordRefunded' as const);
          await this.rt.execute('contract', jobId, contractDecider, { type: command, amountWei: chain.costWei, txHash: null }, causation);
          return;
        }
      }
      if (err instanceof ChainActionError) {
        this.logger.warn(`job ${jobId}: ${state.outcome} not executed yet: ${err.code}`);
        throw new RetryLaterError(`${state.outcome} of ${jobId}: ${err.code}`, { cause: err });
      }
      throw err;
    }
  }

  /**
   * A refund before the deadline (a rejected result) first puts the contract on hold (dispute),
   * which lets the settlement role refund at once; after the deadline it refunds directly.
   */
  private async refundNow(jobId: string, events: TradeEvent[]) {
    try {
      return await refundComputeContract(this.wallet, this.publicClient, { addresses: this.addresses, jobId });
    } catch (err) {
      if (!(err instanceof ChainActionError && err.code === 'DeadlineNotReached')) throw err;
      const decided = [...events].reverse().find((x): x is TradeEventOf<'SettlementDecided'> => x.type === 'SettlementDecided');
      await disputeComputeContract(this.wallet, this.publicClient, {
        addresses: this.addresses,
        jobId,
        reasonHash: keccak256(stringToBytes(decided?.data.reason ?? 'refund decided')),
      });
      return refundComputeContract(this.wallet, this.publicClient, { addresses: this.addresses, jobId });
    }
  }

  /** Refunds what passed its deadline, and drives again what was decided but not recorded. */
  private async scan(): Promise<void> {
    const repo = this.rt.db.getRepository(ContractRow);
    const nowUnixSec = Math.floor(Date.now() / 1000);
    const expired = await repo.find({
      where: { status: In(['open', 'running']), deadlineUnixSec: LessThan(String(nowUnixSec)) },
      take: DEADLINE_SCAN_ROWS_MAX,
      order: { deadlineUnixSec: 'ASC' },
    });
    for (const c of expired) {
      await this.rt.execute('contract', c.jobId, contractDecider, { type: 'ExpireDeadline', nowUnixSec }, {
        correlationId: c.jobId,
        causationId: c.jobId,
        actor: 'service:settlement',
      });
    }
    const stale = await repo.find({
      where: { status: 'settling', decidedAt: LessThan(new Date(Date.now() - SETTLING_STALE_MS)) },
      take: DEADLINE_SCAN_ROWS_MAX,
    });
    for (const c of stale) {
      await this.execute(c.jobId, c.jobId).catch((err: Error) => this.logger.warn(`re-drive of ${c.jobId} failed: ${err.message}`));
    }
  }

  private async apply(em: EntityManager, { event, seq }: StoredEvent): Promise<void> {
    const contracts = em.getRepository(ContractRow);
    const ledger = em.getRepository(LedgerEntry);
    const e = event as TradeEvent;
    const at = new Date(e.occurredAt);
    switch (e.type) {
      case 'ContractOpened':
        await contracts.upsert(
          {
            jobId: e.data.jobId,
            status: 'open',
            requesterAddress: e.data.requesterAddress.toLowerCase(),
            nodeAddress: e.data.nodeAddress.toLowerCase(),
            escrowWei: e.data.escrowWei,
            deadlineUnixSec: String(e.data.deadlineUnixSec),
            outcome: null,
            decidedAt: null,
          },
          ['jobId'],
        );
        await ledger.upsert(
          { eventId: e.id, seq: String(seq), jobId: e.data.jobId, kind: 'escrow-locked', account: e.data.requesterAddress.toLowerCase(), amountWei: e.data.escrowWei, txHash: e.data.txHash, occurredAt: at },
          ['eventId'],
        );
        return;
      case 'JobStarted':
        await contracts.update({ jobId: e.data.jobId, status: 'open' }, { status: 'running' });
        return;
      case 'SettlementDecided':
        await contracts.update({ jobId: e.data.jobId }, { status: 'settling', outcome: e.data.outcome, decidedAt: at });
        return;
      case 'ContractReleased':
        await contracts.update({ jobId: e.data.jobId }, { status: 'released' });
        await ledger.upsert(
          { eventId: e.id, seq: String(seq), jobId: e.data.jobId, kind: 'released', account: e.data.nodeAddress.toLowerCase(), amountWei: e.data.amountWei, txHash: e.data.txHash, occurredAt: at },
          ['eventId'],
        );
        return;
      case 'ContractRefunded':
        await contracts.update({ jobId: e.data.jobId }, { status: 'refunded' });
        await ledger.upsert(
          { eventId: e.id, seq: String(seq), jobId: e.data.jobId, kind: 'refunded', account: e.data.requesterAddress.toLowerCase(), amountWei: e.data.amountWei, txHash: e.data.txHash, occurredAt: at },
          ['eventId'],
        );
        return;
      default:
        return;
    }
  }
}
