import type { COMMANDS, PayloadOf } from '@starminer/events';

export type IntakeJobSpec = PayloadOf<typeof COMMANDS.intake.submitJob>['spec'];

const AGPU = 10n ** 18n;

/** A job spec intake accepts (an H100 inference job, a small hash chain), with the fields a spec varies. */
export const intakeJobSpec = (over: Partial<IntakeJobSpec> = {}): IntakeJobSpec => ({
  category: 'inference',
  budgetWei: 10n * AGPU,
  urgency: 'normal',
  latencyPreference: 'normal',
  requirements: { gpuModels: ['H100'], gpuCount: 1, minVramGiB: 40, tee: false, regions: [] },
  expectedRuntimeSec: 60,
  deadlineSec: 600,
  green: false,
  workload: { kind: 'hash-chain', seed: 'intake-spec', iterations: 1000 },
  ...over,
});
