import { z } from 'zod';
import { LIMITS } from './limits';

/** The wire form of an amount: a non-negative decimal integer, no leading zeros, at most 78 digits (uint256). */
export const WEI_DECIMAL = /^(0|[1-9][0-9]{0,77})$/;

/** Wire form of every amount: a non-negative decimal integer string; in memory a bigint. */
export const weiSchema = z.codec(z.string().regex(WEI_DECIMAL, 'a non-negative integer in base units (decimal string, no leading zeros)'), z.bigint().nonnegative(), {
  decode: (s) => BigInt(s),
  encode: (n) => n.toString(),
});
export const addressSchema = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'an EVM address');
export const hexSchema = z.string().max(65_536).regex(/^0x[0-9a-fA-F]*$/, 'hex');
export const bytes32Schema = z.string().regex(/^0x[0-9a-fA-F]{64}$/, '32 bytes of hex');
/** A 65-byte ECDSA signature (r, s, v) as hex. */
export const signatureSchema = z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'a 65-byte signature as hex');

/** Ids are one safe NATS subject token. */
export const ID_PATTERN = new RegExp(`^[A-Za-z0-9_-]{1,${LIMITS.idLengthMax}}$`);
export const idSchema = z.string().regex(ID_PATTERN, `an id: 1-${LIMITS.idLengthMax} of A-Z a-z 0-9 _ -`);

/**
 * Text that every reader can store: no NUL (Postgres refuses it in text and jsonb) and no lone
 * UTF-16 surrogate (jsonb refuses the escape, and it is not valid Unicode anyway).
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what Postgres refuses
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
export const isStorableText = (s: string): boolean => !UNSTORABLE.test(s);
export const STORABLE_TEXT_MESSAGE = 'text must hold no NUL character and no lone surrogate';

/** A string of at most `max` characters that Postgres can store. */
export function text(max: number, min = 0): z.ZodString {
  let s = z.string().max(max);
  if (min > 0) s = s.min(min);
  return s.refine(isStorableText, STORABLE_TEXT_MESSAGE) as unknown as z.ZodString;
}

/** Cuts free text to a catalogue limit (reasons written by services, never by clients). */
export function truncateText(s: string, max: number): string {
  if (s.length <= max) return s;
  const cut = s.slice(0, max - 1);
  // never end on half a surrogate pair
  return `${/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut}…`;
}

export const reasonSchema = text(LIMITS.reasonLengthMax);
export const codeSchema = text(LIMITS.codeLengthMax, 1);

export const CATEGORIES = ['ai-training', 'inference', 'rendering', 'simulation'] as const;
export type Category = (typeof CATEGORIES)[number];
export const URGENCIES = ['low', 'normal', 'high', 'critical'] as const;
export type Urgency = (typeof URGENCIES)[number];
export const LATENCY_PREFERENCES = ['relaxed', 'normal', 'low'] as const;
export type LatencyPreference = (typeof LATENCY_PREFERENCES)[number];
/** `container`: the node's agent found a container engine (Docker or Podman) and runs workloads with an image in it. */
export const RUNTIMES = ['hash-chain', 'matmul', 'command', 'container'] as const;
export type RuntimeKind = (typeof RUNTIMES)[number];

export const gpuModelSchema = text(LIMITS.gpuModelLengthMax, 1);
export const regionSchema = text(LIMITS.regionLengthMax, 1);

/** What a job asks of the node it runs on. */
export const requirementsSchema = z.strictObject({
  gpuModels: z.array(gpuModelSchema).max(LIMITS.jobGpuModelsMax),
  /** GPUs on one node; 0 = any count the engine finds best for the budget and deadline. */
  gpuCount: z.number().int().min(0).max(LIMITS.gpusPerNodeMax),
  minVramGiB: z.number().int().min(0).max(LIMITS.vramGiBMax),
  tee: z.boolean(),
  regions: z.array(regionSchema).max(LIMITS.jobRegionsMax),
  maxLatencyMs: z.number().int().positive().max(LIMITS.latencyMsMax).optional(),
});
export type JobRequirements = z.infer<typeof requirementsSchema>;

const seedSchema = text(LIMITS.workloadSeedLengthMax);

/**
 * What the provider runs. `hash-chain` and `matmul` are built in and anyone can recompute their
 * result from the parameters; `command` runs only on nodes whose operator turned the runtime on,
 * and one with an `image` only on nodes that registered the `container` runtime (in the image,
 * without network unless `network` is true).
 */
export const workloadSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('hash-chain'), seed: seedSchema, iterations: z.number().int().positive().max(LIMITS.hashChainIterationsMax) }),
  z.strictObject({ kind: z.literal('matmul'), seed: seedSchema, size: z.number().int().positive().max(LIMITS.matmulSizeMax) }),
  z.strictObject({
    kind: z.literal('command'),
    image: text(LIMITS.commandImageLengthMax, 1).optional(),
    command: z.array(text(LIMITS.commandArgLengthMax)).min(1).max(LIMITS.commandArgsMax),
    /** With an image: give the container a network (default: none). */
    network: z.boolean().optional(),
  }),
]);
export type Workload = z.infer<typeof workloadSchema>;

export const energySchema = z.strictObject({
  carbonGPerKwh: z.number().min(0).max(LIMITS.carbonGPerKwhMax),
  renewableShare: z.number().min(0).max(1),
});

export const benchmarkSchema = z.strictObject({
  kind: text(LIMITS.benchmarkKindLengthMax, 1),
  score: z.number().nonnegative().max(Number.MAX_SAFE_INTEGER),
  measuredAt: text(LIMITS.measuredAtLengthMax),
  /** What measured it and its version (added with GPU benchmarks; absent on older registrations). */
  tool: text(LIMITS.benchmarkToolLengthMax, 1).optional(),
});

/**
 * Redundancy (issue 17): how the copies' results are compared. `exact`: equal result hashes.
 * `tolerance`: outputs are JSON arrays of finite numbers of one length, each pair within
 * absTolerance + relTolerance x max(|a|, |b|). Ranges (0..LIMITS.redundancyToleranceMax) are the
 * market's rule (libs/domain checkRedundancyRequest), refused with their own codes.
 */
export const resultComparisonSchema = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('exact') }),
  z.strictObject({ mode: z.literal('tolerance'), absTolerance: z.number(), relTolerance: z.number() }),
]);

/** A requester's redundancy: the same job on `copies` distinct nodes of one GPU class, results compared. Range checked by intake (REDUNDANCY_COPIES_OUT_OF_RANGE). */
export const redundancyRequestSchema = z.strictObject({ copies: z.number().int(), compare: resultComparisonSchema });
export type RedundancyRequest = z.infer<typeof redundancyRequestSchema>;
