import type { Hex, LocalAccount } from 'viem';
import { resultTypedData, type ResultTypedDataParams } from './resultTypedData';

/** The provider agent signs its result and proof with its node key (EIP-712, no transaction). */
export async function signResult(account: LocalAccount, params: ResultTypedDataParams): Promise<Hex> {
  if (!account.signTypedData) throw new TypeError(`account ${account.address} cannot sign typed data`);
  return account.signTypedData(resultTypedData(params));
}
