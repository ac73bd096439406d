import type { ValueTransformer } from 'typeorm';

/** Amounts live in `numeric(78,0)` columns and come back as bigint, never as floats. */
export const weiTransformer: ValueTransformer = {
  to: (v: bigint | null | undefined) => (v === null || v === undefined ? v : v.toString()),
  from: (v: string | null) => (v === null ? null : BigInt(v)),
};
export const WEI_COLUMN = { type: 'numeric', precision: 78, scale: 0, transformer: weiTransformer } as const;
