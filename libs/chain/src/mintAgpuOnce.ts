import { encodeAbiParameters, keccak256, type Account, type Address, type Hex } from 'viem';
import { tokenAbi } from './artifacts';
import { ChainActionError, toChainActionError } from './errors';
import { sendTx, waitForSuccess } from './receipts';
import type { ChainPublicClient, ChainWalletClient } from './types';

/** Domain separation of faucet mint references: a reference of another purpose never collides with one. */
export const FAUCET_MINT_REF_DOMAIN = 'starminer.faucet.mint.v1';

/**
 * The reference a faucet request mints under: keccak256 of abi.encode(domain, orgId, requestId)
 * (strings are length-prefixed, so ("a", "bc") and ("ab", "c") differ). The token mints a
 * reference at most once.
 */
export function faucetMintRef(orgId: string, requestId: string): Hex {
  return keccak256(encodeAbiParameters([{ type: 'string' }, { type: 'string' }, { type: 'string' }], [FAUCET_MINT_REF_DOMAIN, orgId, requestId]));
}

export interface MintRefParams {
  token: Address;
  mintRef: Hex;
}

/** A reference as the chain holds it now: never minted, or minted by this transaction in this block. */
export type MintRefState =
  | { readonly minted: false }
  | { readonly minted: true; readonly txHash: Hex; readonly blockNumber: bigint; readonly blockHash: Hex; readonly to: Address; readonly amountWei: bigint };

/**
 * Whether the token minted `mintRef`, and if so the mint itself (its `MintedOnce` event, looked up
 * in the one block `mintBlockOf` names, so the lookup is bounded on any chain). Reads the latest
 * block: a mint that a reorganisation or a restored chain dropped reads as not minted.
 */
export async function readMintRef(publicClient: ChainPublicClient, params: MintRefParams): Promise<MintRefState> {
  const action = `readMintRef ${params.mintRef}`;
  try {
    const abi = tokenAbi();
    const block = await publicClient.readContract({ address: params.token, abi, functionName: 'mintBlockOf', args: [params.mintRef] });
    if (block === 0n) return { minted: false };
    const logs = await publicClient.getContractEvents({ address: params.token, abi, eventName: 'MintedOnce', args: { ref: params.mintRef }, fromBlock: block, toBlock: block });
    const log = logs[0];
    if (!log?.transactionHash || !log.blockHash || !log.args.to || log.args.amountWei === undefined) {
      // the state and the logs of the node disagree (a reorganisation between the two reads): ask again later
      throw new ChainActionError('ChainUnavailable', `${action}: minted in block ${block}, but its MintedOnce event is not there`, { args: [params.mintRef, block] });
    }
    return { minted: true, txHash: log.transactionHash, blockNumber: block, blockHash: log.blockHash, to: log.args.to, amountWei: log.args.amountWei };
  } catch (err) {
    throw toChainActionError(err, action);
  }
}

export interface MintAgpuOnceParams extends MintRefParams {
  to: Address;
  amountWei: bigint;
}

export interface MintOnceResult {
  /** The transaction that minted the reference (ours, or the earlier one when `alreadyMinted`). */
  txHash: Hex;
  blockNumber: bigint;
  blockHash: Hex;
  /** The reference was minted before this call: no token was created by it. */
  alreadyMinted: boolean;
}

/**
 * Mint AGPU once per `mintRef` (the wallet must hold MINTER_ROLE). Idempotent: a reference already
 * minted, found before sending or after losing a race to another sender (`MintRefUsed`), answers
 * the earlier mint with `alreadyMinted: true`. Either answer is returned once its block is
 * `finalityDepthOf(publicClient)` deep. A reference minted to another recipient or amount is
 * ChainActionError 'MintRefConflict' (never taken for this mint); beyond the cap 'ERC20ExceededCap'.
 */
export async function mintAgpuOnce(walletClient: ChainWalletClient, publicClient: ChainPublicClient, params: MintAgpuOnceParams): Promise<MintOnceResult> {
  const action = `mintAgpuOnce ${params.mintRef}`;
  const earlier = async (): Promise<MintOnceResult | undefined> => {
    const state = await readMintRef(publicClient, params);
    if (!state.minted) return undefined;
    if (state.to.toLowerCase() !== params.to.toLowerCase() || state.amountWei !== params.amountWei) {
      throw new ChainActionError('MintRefConflict', `${action}: the reference was minted to ${state.to} for ${state.amountWei}, not to ${params.to} for ${params.amountWei}`, {
        args: [params.mintRef, state.to, state.amountWei],
      });
    }
    const receipt = await waitForSuccess(publicClient, state.txHash, action);
    return { txHash: state.txHash, blockNumber: receipt.blockNumber, blockHash: receipt.blockHash, alreadyMinted: true };
  };
  try {
    const found = await earlier();
    if (found) return found;
    const txHash = await sendTx(publicClient, action, async () => {
      const { request } = await publicClient.simulateContract({
        account: walletClient.account,
        address: params.token,
        abi: tokenAbi(),
        functionName: 'mintOnce',
        args: [params.to, params.amountWei, params.mintRef],
      });
      return walletClient.writeContract(request);
    });
    const receipt = await waitForSuccess(publicClient, txHash, action);
    return { txHash, blockNumber: receipt.blockNumber, blockHash: receipt.blockHash, alreadyMinted: false };
  } catch (err) {
    const mapped = toChainActionError(err, action);
    // another sender minted it between our read and our transaction: answer with that mint
    if (mapped.code === 'MintRefUsed' || mapped.code === 'TransactionReverted') {
      const found = await earlier();
      if (found) return found;
    }
    throw mapped;
  }
}

/**
 * Sends nothing: refuses (ChainActionError with the revert's name, e.g. 'ERC20ExceededCap',
 * 'AccessControlUnauthorizedAccount') a mint the chain would revert now, so a caller can refuse a
 * request before it records it. A reference already minted passes (the mint is answered from it).
 */
export async function checkMintOnce(publicClient: ChainPublicClient, params: MintAgpuOnceParams & { account: Account | Address }): Promise<void> {
  try {
    await publicClient.simulateContract({ account: params.account, address: params.token, abi: tokenAbi(), functionName: 'mintOnce', args: [params.to, params.amountWei, params.mintRef] });
  } catch (err) {
    const mapped = toChainActionError(err, `checkMintOnce ${params.mintRef}`);
    if (mapped.code !== 'MintRefUsed') throw mapped;
  }
}
