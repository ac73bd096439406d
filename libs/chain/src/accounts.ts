import { pbkdf2Sync } from 'node:crypto';
import type { LocalAccount } from 'viem';
import { HDKey, hdKeyToAccount, mnemonicToAccount } from 'viem/accounts';

/** Anvil's well-known default mnemonic: for dev and tests only, never for real funds. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';

/** Anvil's pre-funded account `index` (10 000 ETH each for the first 10 by default). */
export function devAccount(index: number): LocalAccount {
  return mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index });
}

const checkCustodyIndex = (index: number): void => {
  if (!Number.isInteger(index) || index < 0 || index >= 2 ** 31) throw new RangeError(`custodial index must be a non-hardened integer, got ${index}`);
};

/** A requester account the platform holds custodially, HD-derived (m/44'/60'/0'/0/index) from its mnemonic. */
export function custodialAccount(mnemonic: string, index: number): LocalAccount {
  checkCustodyIndex(index);
  return mnemonicToAccount(mnemonic, { addressIndex: index });
}

/** Custodial accounts one CustodyKeys keeps derived; past it, the least recently used is derived again when next asked for. */
export const CUSTODY_ACCOUNTS_CACHED_MAX = 10_000;

/**
 * The custodial accounts of one mnemonic, as custodialAccount derives them, for a signer that
 * signs for many orgs many times: the BIP-39 seed is stretched once (PBKDF2-HMAC-SHA512, 2048
 * rounds, with node's native crypto) and each account is derived once and kept (bounded, LRU).
 * custodialAccount does both in JavaScript on every call: tens of milliseconds of CPU, which the
 * deployer spent on every contract it opened.
 */
export class CustodyKeys {
  private readonly root: HDKey;
  private readonly accounts = new Map<number, LocalAccount>();

  constructor(
    mnemonic: string,
    private readonly cachedMax = CUSTODY_ACCOUNTS_CACHED_MAX,
  ) {
    // BIP-39: the NFKD mnemonic, salt "mnemonic" + the (empty) passphrase, 2048 rounds, 64 bytes
    this.root = HDKey.fromMasterSeed(pbkdf2Sync(mnemonic.normalize('NFKD'), 'mnemonic', 2048, 64, 'sha512'));
  }

  /** m/44'/60'/0'/0/index of the mnemonic. */
  account(index: number): LocalAccount {
    checkCustodyIndex(index);
    const kept = this.accounts.get(index);
    if (kept) {
      this.accounts.delete(index); // most recently used last
      this.accounts.set(index, kept);
      return kept;
    }
    const account = hdKeyToAccount(this.root, { addressIndex: index });
    this.accounts.set(index, account);
    if (this.accounts.size > this.cachedMax) this.accounts.delete(this.accounts.keys().next().value as number);
    return account;
  }
}
