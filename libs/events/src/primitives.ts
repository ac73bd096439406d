import { z } from 'zod';

/** The wire form of an amount: a non-negative decimal integer, no leading zeros, at most 78 digits (uint256). */
export const WEI_DECIMAL = /^(0|[1-9][0-9]{0,77})$/;

/** Wire form of every amount: a non-negative decimal integer string; in memory a bigint. */
export const weiSchema = z.codec(z.string().regex(WEI_DECIMAL, 'a non-negative integer in base units'), z.bigint().nonnegative(), {
  decode: (s) => BigInt(s),
  encode: (n) => n.toString(),
});
export const addressSchema = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'an EVM address');
export const hexSchema = z.string().regex(/^0x[0-9a-fA-F]*$/, 'hex');
export const bytes32Schema = z.string().regex(/^0x[0-9a-fA-F]{64}$/, '32 bytes of hex');
export const idSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/);

export const CATEGORIES = ['ai-training', 'inference', 'rendering', 'simulation'] as const;
export type Category = (typeof CATEGORIES)[number];
export const URGENCIES = ['low', 'normal', 'high', 'critical'] as const;
export type Urgency = (typeof URGENCIES)[number];
export const LATENCY_PREFERENCES = ['relaxed', 'normal', 'low'] as const;
export type LatencyPreference = (typeof LATENCY_PREFERENCES)[number];

export const requirementsSchema = z.object({
  gpuModels: z.array(z.string()).max(32),
  gpuCount: z.number().int().min(0).max(64),
  minVramGiB: z.number().int().min(0).max(4096),
  tee: z.boolean(),
  regions: z.array(z.string()).max(32),
  maxLatencyMs: z.number().int().positive().optional(),
});
export type JobRequirements = z.infer<typeof requirementsSchema>;

/**
 * What the provider runs. `hash-chain` and `matmul` are built in and anyone can recompute their
 * result from the parameters; `command` runs only on nodes whose operator turned the runtime on.
 */
export const workloadSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('hash-chain'), seed: z.string().max(256), iterations: z.number().int().positive().max(50_000_000) }),
  z.object({ kind: z.literal('matmul'), seed: z.string().max(256), size: z.number().int().positive().max(512) }),
  z.object({ kind: z.literal('command'), image: z.string().max(512).optional(), command: z.array(z.string().max(4096)).min(1).max(64) }),
]);
export type Workload = z.infer<typeof workloadSchema>;

export const energySchema = z.object({
  carbonGPerKwh: z.number().min(0).max(2000),
  renewableShare: z.number().min(0).max(1),
});

export const benchmarkSchema = z.object({
  kind: z.string().max(64),
  score: z.number().nonnegative(),
  measuredAt: z.string(),
});
