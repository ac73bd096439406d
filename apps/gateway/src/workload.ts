import type { Workload } from '@starminer/events';
import { DomainError } from '@starminer/domain';
import type { WorkloadDto } from './dto';

/** Turns the request's workload into the catalogue's union, naming what is missing. */
export function toWorkload(w: WorkloadDto): Workload {
  const missing = (field: string): never => {
    throw new DomainError('BAD_WORKLOAD', `a ${w.kind} workload needs ${field}`);
  };
  switch (w.kind) {
    case 'hash-chain':
      return { kind: 'hash-chain', seed: w.seed ?? missing('seed'), iterations: w.iterations ?? missing('iterations') };
    case 'matmul':
      return { kind: 'matmul', seed: w.seed ?? missing('seed'), size: w.size ?? missing('size') };
    case 'command':
      return { kind: 'command', image: w.image, command: w.command ?? missing('command') };
  }
}

/** Default deadline: ten times the expected runtime, at least five minutes. */
export const DEADLINE_FLOOR_SEC = 300;
export const defaultDeadlineSec = (expectedRuntimeSec: number): number => Math.max(DEADLINE_FLOOR_SEC, expectedRuntimeSec * 10);
