import type { LocalAccount } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';

/** Anvil's well-known default mnemonic: for dev and tests only, never for real funds. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';

/** Anvil's pre-funded account `index` (10 000 ETH each for the first 10 by default). */
export function devAccount(index: number): LocalAccount {
  return mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index });
}

/** A requester account the platform holds custodially, HD-derived (m/44'/60'/0'/0/index) from its mnemonic. */
export function custodialAccount(mnemonic: string, index: number): LocalAccount {
  if (!Number.isInteger(index) || index < 0 || index >= 2 ** 31) throw new RangeError(`custodial index must be a non-hardened integer, got ${index}`);
  return mnemonicToAccount(mnemonic, { addressIndex: index });
}
