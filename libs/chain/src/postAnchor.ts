import type { Hex } from 'viem';
import { artifacts } from './artifacts';
import { ChainActionError, toChainActionError } from './errors';
import { waitForSuccess } from './receipts';
import { requireAddress } from './requireAddress';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';

/**
 * Deployer-role action: post the root of log range [fromSeq, toSeq]. Idempotent: when that exact
 * range is already anchored with this root, nothing is sent (`alreadyPosted`); with another root,
 * 'AnchorConflict'.
 */
export async function postAnchor(
  walletClient: ChainWalletClient,
  publicClient: ChainPublicClient,
  p: { addresses: MarketAddresses; fromSeq: bigint; toSeq: bigint; root: Hex },
): Promise<{ txHash: Hex | null; blockNumber: bigint | null; index: number; alreadyPosted: boolean }> {
  try {
    const anchor = requireAddress(p.addresses, 'anchor');
    const abi = artifacts().AuditAnchor.abi;
    const nextSeq = await publicClient.readContract({ address: anchor, abi, functionName: 'nextSeq' });
    if (p.fromSeq < nextSeq) {
      const logs = await publicClient.getContractEvents({ address: anchor, abi, eventName: 'AnchorPosted', fromBlock: BigInt(p.addresses.deployBlock ?? 0), toBlock: 'latest', strict: true });
      const same = logs.find((l) => l.args.fromSeq === p.fromSeq);
      if (same && same.args.toSeq === p.toSeq && same.args.root === p.root) return { txHash: null, blockNumber: null, index: Number(same.args.index), alreadyPosted: true };
      throw new ChainActionError('AnchorConflict', `log range from ${p.fromSeq} is already anchored (next expected ${nextSeq})${same ? ` as [${same.args.fromSeq}, ${same.args.toSeq}] root ${same.args.root}` : ''}`);
    }
    const { request, result } = await publicClient.simulateContract({ account: walletClient.account, address: anchor, abi, functionName: 'postAnchor', args: [p.fromSeq, p.toSeq, p.root] });
    const txHash = await walletClient.writeContract(request);
    const receipt = await waitForSuccess(publicClient, txHash, 'postAnchor');
    return { txHash, blockNumber: receipt.blockNumber, index: Number(result), alreadyPosted: false };
  } catch (err) {
    throw toChainActionError(err, `postAnchor [${p.fromSeq}, ${p.toSeq}]`);
  }
}
