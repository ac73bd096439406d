import { parseSignature, type Address, type LocalAccount } from 'viem';
import { tokenAbi } from './artifacts';
import type { ChainPublicClient } from './types';

/** The AGPU token's EIP-712 domain name (ERC20Permit("StarMiner AGPU")), version "1". */
export const AGPU_PERMIT_DOMAIN_NAME = 'StarMiner AGPU';

export const PERMIT_TYPES = {
  Permit: [
    { name: 'owner', type: 'address' },
    { name: 'spender', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

export interface PermitSig {
  deadline: bigint;
  v: number;
  r: `0x${string}`;
  s: `0x${string}`;
}

export async function chainIdOf(publicClient: ChainPublicClient): Promise<number> {
  return publicClient.chain?.id ?? (await publicClient.getChainId());
}

export async function permitNonce(publicClient: ChainPublicClient, token: Address, owner: Address): Promise<bigint> {
  return publicClient.readContract({ address: token, abi: tokenAbi(), functionName: 'nonces', args: [owner] });
}

/** An EIP-2612 permit signed off chain by `owner` (a custodial LocalAccount): no ether, no transaction. */
export async function signPermit(
  owner: LocalAccount,
  params: { token: Address; chainId: number; spender: Address; valueWei: bigint; nonce: bigint; deadlineSec: bigint },
): Promise<PermitSig> {
  if (!owner.signTypedData) throw new TypeError(`account ${owner.address} cannot sign typed data`);
  const signature = await owner.signTypedData({
    domain: { name: AGPU_PERMIT_DOMAIN_NAME, version: '1', chainId: params.chainId, verifyingContract: params.token },
    types: PERMIT_TYPES,
    primaryType: 'Permit',
    message: { owner: owner.address, spender: params.spender, value: params.valueWei, nonce: params.nonce, deadline: params.deadlineSec },
  });
  const { v, r, s, yParity } = parseSignature(signature);
  return { deadline: params.deadlineSec, v: Number(v ?? BigInt(yParity + 27)), r, s };
}
