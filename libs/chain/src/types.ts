import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from 'viem';

/** A wallet client with its account hoisted (the role that signs the transaction). */
export type ChainWalletClient = WalletClient<Transport, Chain, Account>;
export type ChainPublicClient = PublicClient<Transport, Chain>;

/** Where the market's contracts live; the JSON of this object is the services' MARKET_ADDRESSES. */
export interface MarketAddresses {
  token: Address;
  escrow: Address;
  staking?: Address;
  vaults?: Address;
  anchor?: Address;
  /** Block of the market's deployment: where event lookups start (JSON number). */
  deployBlock?: number;
}

export type TxHash = Hex;
