import type { AgentConfig } from '../config';
import { detectedProfileOf, detectHardware, type DetectedProfile, type NvidiaSmi } from './detect';
import { HardwareError, type HardwareReport } from './nvidia-smi';

/**
 * The driver reports a GPU's memory less what it keeps for itself (an H200 sold as 141 GB prints
 * 143771 MiB, 140.4 GiB): a declared VRAM this close to the detected one agrees with it.
 */
export const VRAM_TOLERANCE_GIB = 2;

/** What the provider declared in the agent's environment: GPU_MODEL, GPU_COUNT, VRAM_GIB, TEE. */
export type DeclaredProfile = Pick<AgentConfig, 'GPU_MODEL' | 'GPU_COUNT' | 'VRAM_GIB' | 'TEE'>;

/** Each way the declared profile disagrees with the hardware, as a sentence; empty when they agree. */
export function profileDifferences(declared: DeclaredProfile, found: DetectedProfile): string[] {
  const out: string[] = [];
  if (declared.GPU_MODEL !== found.gpuModel) out.push(`GPU_MODEL is ${declared.GPU_MODEL} but the GPUs are ${found.gpuModel} ('${found.productName}')`);
  if (declared.GPU_COUNT !== found.gpuCount) out.push(`GPU_COUNT is ${declared.GPU_COUNT} but nvidia-smi lists ${found.gpuCount} GPU(s)`);
  const foundGiB = found.vramMiB / 1024;
  if (Math.abs(declared.VRAM_GIB - foundGiB) > VRAM_TOLERANCE_GIB) out.push(`VRAM_GIB is ${declared.VRAM_GIB} but each GPU has ${foundGiB.toFixed(1)} GiB (${found.vramMiB} MiB)`);
  if (declared.TEE && !found.tee) out.push('TEE is true but confidential computing is not on (nvidia-smi conf-compute -f)');
  return out;
}

/** The agent's hardware at start: GPUs it detected and checked against the declared profile, or CPU-only as configured. */
export type HardwareAtStart = { mode: 'cpu-only' } | { mode: 'gpu'; report: HardwareReport; profile: DetectedProfile };

/**
 * At start: with AGENT_CPU_ONLY the agent detects nothing and registers its declared profile (the
 * tests' and the demo's agents); otherwise it reads its GPUs and refuses to start (a HardwareError
 * naming what it found) without any, with a model the catalogue lacks, or when the declared
 * profile disagrees with them.
 */
export async function hardwareAtStart(config: DeclaredProfile & Pick<AgentConfig, 'AGENT_CPU_ONLY'>, smi: NvidiaSmi): Promise<HardwareAtStart> {
  if (config.AGENT_CPU_ONLY) return { mode: 'cpu-only' };
  let report: HardwareReport;
  try {
    report = await detectHardware(smi);
  } catch (err) {
    if (err instanceof HardwareError && (err.code === 'NO_GPU' || err.code === 'NVIDIA_SMI_FAILED')) {
      throw new HardwareError('NO_GPU', `no GPU could be read (${err.message}); set AGENT_CPU_ONLY=true to run this agent without GPUs`, { cause: err });
    }
    throw err;
  }
  let profile: DetectedProfile;
  try {
    profile = detectedProfileOf(report);
  } catch (err) {
    if (err instanceof HardwareError && err.code === 'NO_GPU') throw new HardwareError('NO_GPU', `${err.message}; set AGENT_CPU_ONLY=true to run this agent without GPUs`, { cause: err });
    throw err;
  }
  const differences = profileDifferences(config, profile);
  if (differences.length > 0) throw new HardwareError('PROFILE_MISMATCH', `the declared profile disagrees with the hardware: ${differences.join('; ')}`);
  return { mode: 'gpu', report, profile };
}
