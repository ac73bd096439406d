import { keccak256, stringToBytes, type Hex } from 'viem';
import { jobTemplateHash } from '@starminer/chain';
import type { VaultTemplate } from '@starminer/domain';
import { toJson, type COMMANDS, type PayloadOf } from '@starminer/events';

export type VaultJobSpec = PayloadOf<typeof COMMANDS.intake.createVault>['template'];

/**
 * The hash of a template's spec (what a job of it is, apart from its budget and runtime, which the
 * chain's JobTemplate carries itself): canonical JSON of the fields in a fixed order.
 */
export function vaultSpecHashOf(spec: VaultJobSpec): Hex {
  return keccak256(
    stringToBytes(
      toJson({
        category: spec.category,
        requirements: spec.requirements,
        workload: spec.workload,
        urgency: spec.urgency,
        latencyPreference: spec.latencyPreference,
        green: spec.green,
        deadlineSec: spec.deadlineSec,
      }),
    ),
  );
}

/** The spec with its hashes: `templateHash` is what ComputeVaults binds the vault's draws to (jobTemplateHash). */
export function vaultTemplateOf(spec: VaultJobSpec): VaultTemplate {
  const specHash = vaultSpecHashOf(spec);
  const templateHash = jobTemplateHash({ specHash, budgetWei: spec.budgetWei, expectedRuntimeSec: spec.expectedRuntimeSec });
  return { ...spec, specHash, templateHash };
}
