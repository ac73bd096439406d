import type { EventData } from '@starminer/events';
import { redundancyVerdict, type RedundantRun, type ResultComparison } from './redundancy';

/**
 * Redundancy wired (issue 17): a requester's job with `redundancy: { copies: k, compare }` is
 * submitted as k sibling jobs, each with its own escrow and contract. Copy 0 keeps the requester's
 * job id (the group id); copy i > 0 is `<groupId>-c<i>`, so a retry of the submission finds them.
 * Matching places the copies on distinct nodes of one GPU class; each copy's verified result is
 * held (its contract `awaiting-verdict`) until the group's verdict, decided here.
 */
export const redundantCopyJobId = (groupId: string, copyIndex: number): string => (copyIndex === 0 ? groupId : `${groupId}-c${copyIndex}`);

/** The job ids of a group's copies, copy 0 first. */
export const redundantCopyJobIds = (groupId: string, copies: number): string[] => Array.from({ length: copies }, (_, i) => redundantCopyJobId(groupId, i));

/** A group as JobSubmitted records it on each copy. */
export type RedundancyGroup = NonNullable<EventData<'JobSubmitted'>['redundantCopy']>;

/** One copy as settlement finds it when it looks at the group. */
export type RedundantCopy =
  /** Still may submit: queued, matched, open or running (or re-matched). */
  | { readonly jobId: string; readonly copyIndex: number; readonly state: 'pending' }
  /** Its verified result is held, waiting for the verdict. */
  | { readonly jobId: string; readonly copyIndex: number; readonly state: 'held'; readonly run: RedundantRun }
  /** Its verdict was recorded (its run, if it had one, is in `run`). */
  | {
      readonly jobId: string;
      readonly copyIndex: number;
      readonly state: 'decided';
      readonly run?: RedundantRun;
      readonly verdict: Pick<EventData<'RedundancyVerdictRecorded'>, 'outcome' | 'reason' | 'referenceNodeId' | 'agreeingNodeIds' | 'dissentingNodeIds'>;
    }
  /** Ended without a held result: never matched, cancelled, failed, open failed, its result rejected, or refunded at its deadline. */
  | { readonly jobId: string; readonly copyIndex: number; readonly state: 'ended'; readonly run?: RedundantRun };

/** What settlement appends on a held copy's contract (DecideRedundancy's verdict). */
export type CopyVerdict = Omit<EventData<'RedundancyVerdictRecorded'>, 'jobId'>;

export type GroupDecision =
  | { readonly kind: 'wait'; readonly reason: string }
  | { readonly kind: 'decide'; readonly decisions: readonly { readonly jobId: string; readonly verdict: CopyVerdict }[] };

/**
 * The group's decision now. Nothing while a copy may still submit (the verdict counts the copies
 * asked, so it waits for all of them: each pending copy ends by its result, its failure or its
 * deadline's refund), unless a held copy's deadline has passed (`heldDeadlinePassed`): then the
 * pending copies count as missing. The verdict over the held runs decides every held copy at once.
 * A run held after the verdict was recorded (a copy that finished late, or one a crash left
 * undecided) is decided by it: as the recorded verdict classed its node, else, with a majority,
 * it agrees when it matches the reference run (as two copies of two would) and otherwise
 * dissents; after a tie it is refunded with the tie.
 */
export function decideRedundancyGroup(group: RedundancyGroup, copies: readonly RedundantCopy[], opts: { readonly heldDeadlinePassed?: boolean } = {}): GroupDecision {
  if (copies.length !== group.copies) throw new Error(`decideRedundancyGroup: ${copies.length} copies seen of ${group.copies}`);
  const held = copies.filter((c): c is Extract<RedundantCopy, { state: 'held' }> => c.state === 'held');
  if (held.length === 0) return { kind: 'wait', reason: 'no result is held' };
  const decided = copies.filter((c): c is Extract<RedundantCopy, { state: 'decided' }> => c.state === 'decided');
  const base = { groupId: group.groupId, copies: group.copies };
  if (decided.length > 0) return { kind: 'decide', decisions: held.map((c) => ({ jobId: c.jobId, verdict: { ...base, copyIndex: c.copyIndex, ...lateVerdict(group.compare, c.run, decided) } })) };
  const pending = copies.filter((c) => c.state === 'pending').length;
  if (pending > 0 && !opts.heldDeadlinePassed) return { kind: 'wait', reason: `${pending} of ${group.copies} copies may still submit` };
  const verdict = redundancyVerdict(group.copies, held.map((c) => c.run), group.compare);
  if (verdict.kind === 'tie') {
    return {
      kind: 'decide',
      decisions: held.map((c) => ({
        jobId: c.jobId,
        verdict: { ...base, copyIndex: c.copyIndex, outcome: 'tie', reason: verdict.reason, referenceNodeId: null, agreeingNodeIds: [...verdict.largestGroup], dissentingNodeIds: [] },
      })),
    };
  }
  const agreeing = new Set(verdict.agreeing);
  const needed = Math.floor(group.copies / 2) + 1;
  return {
    kind: 'decide',
    decisions: held.map((c) => {
      const agrees = agreeing.has(c.run.nodeId);
      const reason = agrees
        ? `redundancy: ${verdict.agreeing.length} of ${group.copies} copies agree (${needed} needed); this result is the majority's`
        : `redundancy: this result dissents from the majority (${verdict.agreeing.length} of ${group.copies} copies agree on another)`;
      return {
        jobId: c.jobId,
        verdict: {
          ...base,
          copyIndex: c.copyIndex,
          outcome: agrees ? 'agree' : 'dissent',
          reason,
          referenceNodeId: verdict.referenceNodeId,
          agreeingNodeIds: [...verdict.agreeing],
          dissentingNodeIds: [...verdict.dissenting],
        },
      };
    }),
  };
}

function lateVerdict(
  compare: ResultComparison,
  run: RedundantRun,
  decided: readonly Extract<RedundantCopy, { state: 'decided' }>[],
): Pick<CopyVerdict, 'outcome' | 'reason' | 'referenceNodeId' | 'agreeingNodeIds' | 'dissentingNodeIds'> {
  const recorded = decided[0].verdict;
  const { referenceNodeId, agreeingNodeIds, dissentingNodeIds } = recorded;
  if (recorded.outcome === 'tie') return { outcome: 'tie', reason: recorded.reason, referenceNodeId: null, agreeingNodeIds: [...agreeingNodeIds], dissentingNodeIds: [] };
  // the verdict that was recorded classed this node already (its copy was left undecided by a crash)
  if (agreeingNodeIds.includes(run.nodeId) || dissentingNodeIds.includes(run.nodeId)) {
    const agrees = agreeingNodeIds.includes(run.nodeId);
    return {
      outcome: agrees ? 'agree' : 'dissent',
      reason: agrees ? "redundancy: this result is the group's majority" : "redundancy: this result dissents from the group's majority",
      referenceNodeId,
      agreeingNodeIds: [...agreeingNodeIds],
      dissentingNodeIds: [...dissentingNodeIds],
    };
  }
  const reference = referenceNodeId === null ? undefined : decided.find((c) => c.run?.nodeId === referenceNodeId)?.run;
  if (!reference)
    return { outcome: 'tie', reason: 'redundancy: the reference run of the recorded verdict is not found', referenceNodeId: null, agreeingNodeIds: [], dissentingNodeIds: [] };
  // two runs of two: a majority only when they agree
  const pair = redundancyVerdict(2, [reference, run], compare);
  const agrees = pair.kind === 'majority';
  return {
    outcome: agrees ? 'agree' : 'dissent',
    reason: agrees ? "redundancy: this late result agrees with the group's majority" : "redundancy: this late result dissents from the group's majority",
    referenceNodeId,
    agreeingNodeIds: agrees ? [reference.nodeId, run.nodeId].sort() : [reference.nodeId],
    dissentingNodeIds: agrees ? [] : [run.nodeId],
  };
}
