import { Injectable } from '@nestjs/common';
import { observeChainTxs, type ChainPublicClient, type ChainWalletClient, type MarketAddresses } from '@starminer/chain';
import { InjectConfig, KeyedMutex, publicClientFor, ServiceRuntime, walletClientFor } from '@starminer/service-kit';
import type { DeployerConfig } from '../deployer.config';

/**
 * The deployer's chain access: one public client, and its two signing keys. Transactions of one
 * key go one at a time (the contract opener and the anchor share the deployer key; mints of
 * different orgs share the minter key): the wallet asks the node for its next nonce, so two
 * transactions sent at once would take the same one and one of them would fail.
 */
@Injectable()
export class DeployerChain {
  readonly publicClient: ChainPublicClient;
  readonly addresses: MarketAddresses;
  private readonly deployerWallet: ChainWalletClient;
  private readonly minterWallet: ChainWalletClient;
  private readonly signers = new KeyedMutex();

  constructor(@InjectConfig() config: DeployerConfig, rt: ServiceRuntime) {
    this.publicClient = publicClientFor(config);
    observeChainTxs(this.publicClient, rt.meters.onChainTx);
    this.addresses = config.MARKET_ADDRESSES;
    this.deployerWallet = walletClientFor(config, config.DEPLOYER_PRIVATE_KEY);
    this.minterWallet = walletClientFor(config, config.MINTER_PRIVATE_KEY);
  }

  /** Runs `send` with the deployer role's wallet, after the deployer key's transactions before it. */
  asDeployer<T>(send: (wallet: ChainWalletClient) => Promise<T>): Promise<T> {
    return this.signers.run('deployer', () => send(this.deployerWallet));
  }

  /** Runs `send` with the minter's wallet, after the minter key's transactions before it. */
  asMinter<T>(send: (wallet: ChainWalletClient) => Promise<T>): Promise<T> {
    return this.signers.run('minter', () => send(this.minterWallet));
  }
}
