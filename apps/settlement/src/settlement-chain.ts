import { Injectable } from '@nestjs/common';
import { observeChainTxs, type ChainPublicClient, type ChainWalletClient, type MarketAddresses } from '@starminer/chain';
import { InjectConfig, publicClientFor, ServiceRuntime, walletClientFor } from '@starminer/service-kit';
import type { SettlementConfig } from './settlement.config';

/**
 * The chain as settlement reaches it: one public client, one wallet with the settlement role's key
 * (so its transactions take their nonces from one place), the market's addresses and the chain id
 * results are signed for.
 */
@Injectable()
export class SettlementChain {
  readonly publicClient: ChainPublicClient;
  readonly wallet: ChainWalletClient;
  readonly addresses: MarketAddresses;
  readonly chainId: number;

  constructor(@InjectConfig() config: SettlementConfig, rt: ServiceRuntime) {
    this.publicClient = publicClientFor(config);
    observeChainTxs(this.publicClient, rt.meters.onChainTx);
    this.wallet = walletClientFor(config, config.SETTLEMENT_PRIVATE_KEY);
    this.addresses = config.MARKET_ADDRESSES;
    this.chainId = config.CHAIN_ID;
  }
}
