import { hashStruct, keccak256, recoverTypedDataAddress, stringToBytes, type Hex } from 'viem';
import { custodialAccount } from './accounts';
import { idToBytes32 } from './jobId';
import { JOB_TEMPLATE_TYPEHASH, JOB_TEMPLATE_TYPES, jobTemplateHash, type JobTemplate } from './jobTemplate';
import { VAULT_DOMAIN_NAME, VAULT_OWNER_TYPES, signVaultOwnerAction } from './vaultOwnerSignatures';

const AGPU = 10n ** 18n;
const H = (byte: string): Hex => `0x${byte.repeat(32)}`;

describe('jobTemplateHash', () => {
  it('is keccak256(abi.encode(TEMPLATE_TYPEHASH, specHash, budgetWei, expectedRuntimeSec)), pinned to the contract\'s value', () => {
    expect(JOB_TEMPLATE_TYPEHASH).toBe(keccak256(stringToBytes('JobTemplate(bytes32 specHash,uint256 budgetWei,uint32 expectedRuntimeSec)')));
    // ComputeVaults.templateHashOf of this input (contracts/test/vaults.spec.ts checks it on chain)
    expect(jobTemplateHash({ specHash: H('11'), budgetWei: 5n * AGPU, expectedRuntimeSec: 600 })).toBe('0x92cf2f3a121b1feee716ed1d6708d664d69b9abc924e18844a271b353c4d559f');
  });

  it.each<JobTemplate>([
    { specHash: H('00'), budgetWei: 0n, expectedRuntimeSec: 0 },
    { specHash: H('ff'), budgetWei: 2n ** 256n - 1n, expectedRuntimeSec: 2 ** 32 - 1 },
    { specHash: H('ab'), budgetWei: 7n * AGPU, expectedRuntimeSec: 3_600 },
  ])('is the EIP-712 struct hash of JobTemplate (%o)', (t) => {
    expect(jobTemplateHash(t)).toBe(hashStruct({ types: JOB_TEMPLATE_TYPES, primaryType: 'JobTemplate', data: t }));
  });

  it('refuses what the contract could not take', () => {
    expect(() => jobTemplateHash({ specHash: '0x11', budgetWei: 1n, expectedRuntimeSec: 1 })).toThrow(RangeError);
    expect(() => jobTemplateHash({ specHash: H('zz'), budgetWei: 1n, expectedRuntimeSec: 1 })).toThrow(RangeError);
    expect(() => jobTemplateHash({ specHash: H('11'), budgetWei: -1n, expectedRuntimeSec: 1 })).toThrow(RangeError);
    expect(() => jobTemplateHash({ specHash: H('11'), budgetWei: 2n ** 256n, expectedRuntimeSec: 1 })).toThrow(RangeError);
    expect(() => jobTemplateHash({ specHash: H('11'), budgetWei: 1n, expectedRuntimeSec: 2 ** 32 })).toThrow(RangeError);
    expect(() => jobTemplateHash({ specHash: H('11'), budgetWei: 1n, expectedRuntimeSec: 1.5 })).toThrow(RangeError);
  });
});

describe('signVaultOwnerAction', () => {
  const owner = custodialAccount('abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about', 0);
  const vaults = '0x5FbDB2315678afecb367f032d93F642f64180aa3' as const;
  const domain = { name: VAULT_DOMAIN_NAME, version: '1', chainId: 31337, verifyingContract: vaults } as const;

  it('signs each action for one vault and one nonce', async () => {
    const templateHash = H('22');
    const sig = await signVaultOwnerAction(owner, { vaults, chainId: 31337, vaultId: 'v', nonce: 3n, action: { kind: 'TemplateUpdate', templateHash } });
    const message = { vaultId: idToBytes32('v'), templateHash, nonce: 3n };
    expect(await recoverTypedDataAddress({ domain, types: VAULT_OWNER_TYPES, primaryType: 'TemplateUpdate', message, signature: sig })).toBe(owner.address);
    expect(await recoverTypedDataAddress({ domain, types: VAULT_OWNER_TYPES, primaryType: 'TemplateUpdate', message: { ...message, nonce: 4n }, signature: sig })).not.toBe(owner.address);
    expect(await recoverTypedDataAddress({ domain, types: VAULT_OWNER_TYPES, primaryType: 'TemplateUpdate', message: { ...message, vaultId: idToBytes32('w') }, signature: sig })).not.toBe(owner.address);
    const pause = await signVaultOwnerAction(owner, { vaults, chainId: 31337, vaultId: 'v', nonce: 0n, action: { kind: 'VaultPause', paused: true } });
    expect(await recoverTypedDataAddress({ domain, types: VAULT_OWNER_TYPES, primaryType: 'VaultPause', message: { vaultId: idToBytes32('v'), paused: true, nonce: 0n }, signature: pause })).toBe(owner.address);
    expect(await recoverTypedDataAddress({ domain, types: VAULT_OWNER_TYPES, primaryType: 'VaultPause', message: { vaultId: idToBytes32('v'), paused: false, nonce: 0n }, signature: pause })).not.toBe(owner.address);
    const close = await signVaultOwnerAction(owner, { vaults, chainId: 31337, vaultId: 'v', nonce: 9n, action: { kind: 'VaultClose' } });
    expect(await recoverTypedDataAddress({ domain, types: VAULT_OWNER_TYPES, primaryType: 'VaultClose', message: { vaultId: idToBytes32('v'), nonce: 9n }, signature: close })).toBe(owner.address);
  });
});
