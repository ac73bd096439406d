import { Injectable } from '@nestjs/common';
import type { Address, Hex } from 'viem';
import { mintAgpuOnce, type MintOnceResult } from '@starminer/chain';
import { mintDecider, type MintCommand } from '@starminer/domain';
import { KeyedMutex, ServiceRuntime, type Causation } from '@starminer/service-kit';
import { DeployerChain } from '../chain/deployer-chain';

/** A faucet mint as its MintRequested says it. */
export interface RequestedMint {
  readonly orgId: string;
  readonly mintRef: Hex;
  readonly accountAddress: Address;
  readonly amountWei: bigint;
}

/**
 * The faucet's one way to the chain, shared by the command and the reconciler: mint a requested
 * reference once (the token refuses a reference twice; a reference found minted is answered from
 * its transaction), then record it through the mint decider once its block is final
 * (CHAIN_CONFIRMATIONS deep). Any crash anywhere leaves the reference requested or recorded, and
 * running this again finishes it without minting twice.
 */
@Injectable()
export class FaucetMints {
  /** One attempt per reference at a time in this process (a command and a reconciler round). */
  private readonly refs = new KeyedMutex();

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly chain: DeployerChain,
  ) {}

  /** Mints (or finds) a requested mint and records AccountFunded; answers its transaction. */
  finish(mint: RequestedMint, causation: Causation): Promise<MintOnceResult> {
    return this.refs.run(mint.mintRef, async () => {
      const minted = await this.mintOnce(mint);
      await this.record(mint.orgId, { type: 'RecordMint', mintRef: mint.mintRef, txHash: minted.txHash }, causation);
      return minted;
    });
  }

  /**
   * A recorded mint that the chain no longer holds under its recorded transaction: minted again
   * (or found under the transaction that did mint it) and recorded as MintRestored.
   */
  restore(mint: RequestedMint, causation: Causation): Promise<MintOnceResult> {
    return this.refs.run(mint.mintRef, async () => {
      const minted = await this.mintOnce(mint);
      await this.record(mint.orgId, { type: 'RestoreMint', mintRef: mint.mintRef, txHash: minted.txHash }, causation);
      return minted;
    });
  }

  private mintOnce(mint: RequestedMint): Promise<MintOnceResult> {
    const { publicClient, addresses } = this.chain;
    return this.chain.asMinter((wallet) => mintAgpuOnce(wallet, publicClient, { token: addresses.token, to: mint.accountAddress, amountWei: mint.amountWei, mintRef: mint.mintRef }));
  }

  private async record(orgId: string, command: MintCommand, causation: Causation): Promise<void> {
    await this.rt.execute('account', orgId, mintDecider, command, causation);
  }
}
