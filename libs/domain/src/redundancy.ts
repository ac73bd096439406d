import { LIMITS } from '@starminer/events';

/**
 * Verifying what cannot be recomputed (issue 17): a requester asks for the same job on k nodes of
 * one class and the results are compared, byte for byte or, for float outputs from GPUs that
 * cannot be reproduced bit for bit elsewhere, within a stated tolerance. The verdict says whom the
 * escrow pays: the runs that agree with a strict majority of the k copies are paid, the runs that
 * submitted something else dissent (slashed where the rules say), and without a majority every
 * run is refunded with the reason.
 */
export type ResultComparison =
  | { readonly mode: 'exact' }
  /**
   * Outputs are JSON arrays of finite numbers; two agree when they have the same length and every
   * pair of values a, b has |a - b| <= absTolerance + relTolerance * max(|a|, |b|) (symmetric, so
   * the order of the runs never changes a verdict).
   */
  | { readonly mode: 'tolerance'; readonly absTolerance: number; readonly relTolerance: number };

/** One node's run of a redundant job, as submitted (resultHash is sha256 of output, checked before this). */
export interface RedundantRun {
  readonly nodeId: string;
  readonly output: string;
  readonly resultHash: string;
}

export type RedundancyVerdict =
  | {
      readonly kind: 'majority';
      /** The run the others were compared with: of the largest agreeing group, the lowest node id. */
      readonly referenceNodeId: string;
      /** Paid: the runs that agree with the reference (the reference included), in node id order. */
      readonly agreeing: readonly string[];
      /** Submitted another result (or one that cannot be read as the comparison needs). */
      readonly dissenting: readonly string[];
    }
  | {
      readonly kind: 'tie';
      /** Why no result won, for the refund's reason. */
      readonly reason: string;
      /** The largest agreeing group found, in node id order (shorter than a majority). */
      readonly largestGroup: readonly string[];
    };

/** A requester's comparison that the market cannot use: a 4xx at the edge, never a verdict. */
export class RedundancyRequestError extends Error {
  override readonly name = 'RedundancyRequestError';
  constructor(
    readonly code: 'REDUNDANCY_COPIES_OUT_OF_RANGE' | 'REDUNDANCY_TOLERANCE_INVALID',
    message: string,
  ) {
    super(message);
  }
}

/** Checks a requested redundancy: 2..LIMITS.redundancyCopiesMax copies, tolerances finite in [0, LIMITS.redundancyToleranceMax]. */
export function checkRedundancyRequest(copies: number, comparison: ResultComparison): void {
  if (!Number.isInteger(copies) || copies < 2 || copies > LIMITS.redundancyCopiesMax)
    throw new RedundancyRequestError('REDUNDANCY_COPIES_OUT_OF_RANGE', `copies must be an integer from 2 to ${LIMITS.redundancyCopiesMax}, got ${copies}`);
  if (comparison.mode === 'exact') return;
  for (const [name, value] of [
    ['absTolerance', comparison.absTolerance],
    ['relTolerance', comparison.relTolerance],
  ] as const) {
    if (!Number.isFinite(value) || value < 0 || value > LIMITS.redundancyToleranceMax)
      throw new RedundancyRequestError('REDUNDANCY_TOLERANCE_INVALID', `${name} must be a number from 0 to ${LIMITS.redundancyToleranceMax}, got ${value}`);
  }
}

/** An output as the tolerance comparison reads it: a JSON array of finite numbers, else undefined. */
export function numericOutput(output: string): readonly number[] | undefined {
  if (output.length > LIMITS.resultOutputLengthMax) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(output);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'number' && Number.isFinite(v))) return undefined;
  return parsed as number[];
}

function agree(a: RedundantRun, b: RedundantRun, comparison: ResultComparison, values: Map<string, readonly number[] | undefined>): boolean {
  if (comparison.mode === 'exact') return a.resultHash.toLowerCase() === b.resultHash.toLowerCase();
  const x = values.get(a.nodeId);
  const y = values.get(b.nodeId);
  if (!x || !y || x.length !== y.length) return false;
  for (let i = 0; i < x.length; i += 1) {
    if (Math.abs(x[i] - y[i]) > comparison.absTolerance + comparison.relTolerance * Math.max(Math.abs(x[i]), Math.abs(y[i]))) return false;
  }
  return true;
}

/**
 * The verdict over the runs submitted for a job asked on `copies` nodes. A majority is more than
 * half of the copies asked, not of the runs submitted: a node that never submitted neither agrees
 * nor dissents (the deadline's rules deal with it), and two runs of three that disagree are a tie.
 * Agreement within a tolerance is not transitive (a ~ b and b ~ c without a ~ c), so each run in
 * turn is taken as the reference and the largest group that agrees with it wins; equal groups go
 * to the lowest reference node id, so the verdict never depends on the order runs came in.
 */
export function redundancyVerdict(copies: number, runs: readonly RedundantRun[], comparison: ResultComparison): RedundancyVerdict {
  checkRedundancyRequest(copies, comparison);
  const ids = runs.map((r) => r.nodeId);
  if (new Set(ids).size !== ids.length) throw new Error(`redundancyVerdict: one node submitted twice (${ids.join(', ')})`);
  if (runs.length > copies) throw new Error(`redundancyVerdict: ${runs.length} runs for ${copies} copies`);
  const sorted = [...runs].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  const values = new Map(sorted.map((r) => [r.nodeId, comparison.mode === 'tolerance' ? numericOutput(r.output) : undefined]));
  let best: { reference: RedundantRun; group: RedundantRun[] } | undefined;
  for (const reference of sorted) {
    if (comparison.mode === 'tolerance' && !values.get(reference.nodeId)) continue; // unreadable: agrees with nothing
    const group = sorted.filter((r) => agree(reference, r, comparison, values));
    if (!best || group.length > best.group.length) best = { reference, group };
  }
  const needed = Math.floor(copies / 2) + 1;
  const largestGroup = best ? best.group.map((r) => r.nodeId) : [];
  if (!best || best.group.length < needed) {
    return {
      kind: 'tie',
      reason: `no result was submitted by a majority of the ${copies} copies (${needed} needed): ${runs.length} submitted, the largest agreeing group has ${largestGroup.length}`,
      largestGroup,
    };
  }
  const agreeing = new Set(largestGroup);
  return {
    kind: 'majority',
    referenceNodeId: best.reference.nodeId,
    agreeing: largestGroup,
    dissenting: sorted.filter((r) => !agreeing.has(r.nodeId)).map((r) => r.nodeId),
  };
}
