import { recoverTypedDataAddress, type Address, type Hex } from 'viem';
import { jobIdToBytes32 } from './jobId';
import type { MarketAddresses } from './types';

/** ComputeEscrow's EIP-712 domain: EIP712("StarMiner Compute Escrow", "1"). */
export const ESCROW_DOMAIN_NAME = 'StarMiner Compute Escrow';
export const ESCROW_DOMAIN_VERSION = '1';

export const RESULT_TYPES = {
  Result: [
    { name: 'jobId', type: 'bytes32' },
    { name: 'resultHash', type: 'bytes32' },
    { name: 'proofHash', type: 'bytes32' },
  ],
} as const;

export interface ResultTypedDataParams {
  addresses: Pick<MarketAddresses, 'escrow'>;
  chainId: number;
  jobId: string;
  resultHash: Hex;
  proofHash: Hex;
}

/**
 * What a provider's node key signs to be paid: the job (its bytes32 key), the result and proof
 * hashes, bound to this escrow contract and chain through the domain; a signature for one job,
 * one escrow or one chain is worthless for any other.
 */
export function resultTypedData(p: ResultTypedDataParams) {
  return {
    domain: { name: ESCROW_DOMAIN_NAME, version: ESCROW_DOMAIN_VERSION, chainId: p.chainId, verifyingContract: p.addresses.escrow },
    types: RESULT_TYPES,
    primaryType: 'Result' as const,
    message: { jobId: jobIdToBytes32(p.jobId), resultHash: p.resultHash, proofHash: p.proofHash },
  };
}

export async function recoverResultSigner(p: ResultTypedDataParams & { signature: Hex }): Promise<Address> {
  return recoverTypedDataAddress({ ...resultTypedData(p), signature: p.signature });
}
