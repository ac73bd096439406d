import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { Address, Hex } from 'viem';
import { agpuBalance, checkMintOnce, faucetMintRef } from '@starminer/chain';
import { DomainError, mintDecider, mintOf, validateFaucetAmount } from '@starminer/domain';
import { COMMANDS, type PayloadOf, type ReplyOf } from '@starminer/events';
import { CommandHandler, KeyedMutex, ServiceRuntime, type Causation } from '@starminer/service-kit';
import { DeployerChain } from '../chain/deployer-chain';
import { FaucetMints } from './faucet-mints';

const MINT = COMMANDS.deployer.mint;

/**
 * `cmd.deployer.mint`, the dev faucet, exactly once per request (org + `requestId`, the caller's
 * idempotency key) under every fault. The request's reference `mintRef` = faucetMintRef(org,
 * requestId); the token mints a reference once. In order:
 *   1. MintRequested (idempotent per reference), after a dry run of the mint so that a mint the
 *      chain would refuse (the cap) is refused before it is requested;
 *   2. `mintOnce` on chain (a reference already minted is answered from its transaction);
 *   3. AccountFunded with the reference, once the receipt is CHAIN_CONFIRMATIONS deep.
 * A crash between any two leaves a request that a retry, or the reconciler (reconcile-mints),
 * finishes; a retry of a recorded request answers its transaction and mints nothing.
 */
@Controller()
export class MintHandler {
  /** One request of an org at a time, so a retry waits for its first attempt and then finds it. */
  private readonly orgLocks = new KeyedMutex();

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly chain: DeployerChain,
    private readonly mints: FaucetMints,
  ) {}

  @CommandHandler(MINT)
  async mint(@Payload() p: PayloadOf<typeof MINT>): Promise<ReplyOf<typeof MINT>> {
    validateFaucetAmount(p.amountWei);
    return this.orgLocks.run(p.orgId, async () => {
      const { txHash, account } = await this.mintOnce(p);
      const balanceWei = await agpuBalance(this.chain.publicClient, { token: this.chain.addresses.token, account });
      return { txHash, balanceWei };
    });
  }

  /** The request's mint transaction, and the org's account. */
  private async mintOnce(p: PayloadOf<typeof MINT>): Promise<{ txHash: Hex; account: Address }> {
    const causation: Causation = { correlationId: p.orgId, causationId: p.requestId, actor: 'service:deployer' };
    const { state, events } = await this.rt.load('account', p.orgId, mintDecider);
    if (!state.org) throw new DomainError('ORG_NOT_FOUND', 'no such org');
    const account = state.org.accountAddress as Address;
    // funded before mints had references: answered by its request id, as it was then
    const legacy = events.find((e) => e.type === 'AccountFunded' && e.data.mintRef === undefined && e.causationId === p.requestId);
    if (legacy?.type === 'AccountFunded') return { txHash: legacy.data.txHash as Hex, account };

    const mintRef = faucetMintRef(p.orgId, p.requestId);
    const mint = { orgId: p.orgId, mintRef, accountAddress: account, amountWei: p.amountWei };
    const known = mintOf(state, mintRef);
    if (known && known.amountWei !== p.amountWei) {
      throw new DomainError('IDEMPOTENCY_KEY_REUSED', `this request was made for ${known.amountWei} wei, not ${p.amountWei}`, { amountWei: known.amountWei.toString() });
    }
    if (known?.txHash) return { txHash: known.txHash as Hex, account };
    if (!known) {
      const { publicClient, addresses } = this.chain;
      await this.chain.asMinter((wallet) => checkMintOnce(publicClient, { account: wallet.account.address, token: addresses.token, to: mint.accountAddress, amountWei: mint.amountWei, mintRef }));
      await this.rt.execute('account', p.orgId, mintDecider, { type: 'RequestMint', mintRef, amountWei: p.amountWei }, causation);
    }
    return { txHash: (await this.mints.finish(mint, causation)).txHash, account };
  }
}
