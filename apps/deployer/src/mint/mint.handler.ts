import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { Address, Hex } from 'viem';
import { agpuBalance, mintAgpu } from '@starminer/chain';
import { accountDecider, DomainError, validateFaucetAmount } from '@starminer/domain';
import { COMMANDS, type PayloadOf, type ReplyOf } from '@starminer/events';
import { CommandHandler, KeyedMutex, ServiceRuntime } from '@starminer/service-kit';
import { DeployerChain } from '../chain/deployer-chain';

const MINT = COMMANDS.deployer.mint;

/**
 * `cmd.deployer.mint`, the dev faucet: mints AGPU to the org's custodial account, then records
 * AccountFunded through the account decider (the mint's transaction hash makes a redelivered
 * record count once). `requestId` is the caller's idempotency key: a request whose AccountFunded
 * is already on the org's log is answered from it, and nothing is minted again.
 */
@Controller()
export class MintHandler {
  /** One request of an org at a time, so a retry waits for its first attempt and then finds it. */
  private readonly orgLocks = new KeyedMutex();

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly chain: DeployerChain,
  ) {}

  @CommandHandler(MINT)
  async mint(@Payload() p: PayloadOf<typeof MINT>): Promise<ReplyOf<typeof MINT>> {
    validateFaucetAmount(p.amountWei);
    return this.orgLocks.run(p.orgId, async () => {
      const { state, events } = await this.rt.load('account', p.orgId, accountDecider);
      if (state.status !== 'active') throw new DomainError('ORG_NOT_FOUND', 'no such org');
      const account = state.accountAddress as Address;
      const earlier = events.find((e) => e.type === 'AccountFunded' && e.causationId === p.requestId);
      const txHash = earlier?.type === 'AccountFunded' ? earlier.data.txHash : await this.mintAndRecord(p, account);
      const balanceWei = await agpuBalance(this.chain.publicClient, { token: this.chain.addresses.token, account });
      return { txHash, balanceWei };
    });
  }

  private async mintAndRecord(p: PayloadOf<typeof MINT>, to: Address): Promise<Hex> {
    const { publicClient, addresses } = this.chain;
    const { txHash } = await this.chain.asMinter((wallet) => mintAgpu(wallet, publicClient, { token: addresses.token, to, amountWei: p.amountWei }));
    await this.rt.execute('account', p.orgId, accountDecider, { type: 'RecordFunding', amountWei: p.amountWei, txHash }, {
      correlationId: p.orgId,
      causationId: p.requestId,
      actor: 'service:deployer',
    });
    return txHash;
  }
}
