import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { keccak256, type Hex } from 'viem';
import { ANCHOR_LEAF_ENCODING, buildAnchorTree, type AnchorLeaf, type AnchorTree } from './anchorTree';

/** The hash an anchor's leaf holds for one message of the log: keccak256 of its bytes as the stream stores them. */
export const eventHashOf = (message: Uint8Array): Hex => keccak256(message);

/** One anchor as the chain holds it: the range of the log it covers and the root of its events. */
export interface PostedAnchor {
  readonly index: number;
  readonly fromSeq: bigint;
  readonly toSeq: bigint;
  readonly root: Hex;
}

/** The events read for an anchor's range do not give the root the chain holds for it (or do not fill the range). */
export class AnchorMismatchError extends Error {
  override readonly name = 'AnchorMismatchError';
  constructor(
    readonly anchor: PostedAnchor,
    /** The root of the events read, null when they did not fill the range. */
    readonly rebuiltRoot: Hex | null,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The tree of one anchor, rebuilt from the log's messages of its range, checked against the root
 * the chain holds: every sequence of [fromSeq, toSeq] once, and the same root. Pure; the tree
 * then gives the inclusion proof of any of its events.
 */
export function anchorTreeOf(anchor: PostedAnchor, leaves: readonly AnchorLeaf[]): AnchorTree {
  const want = anchor.toSeq - anchor.fromSeq + 1n;
  const at = `anchor #${anchor.index} [${anchor.fromSeq}, ${anchor.toSeq}]`;
  if (BigInt(leaves.length) !== want) throw new AnchorMismatchError(anchor, null, `${at}: the log holds ${leaves.length} of its ${want} events`);
  const tree = buildAnchorTree(leaves);
  if (tree.fromSeq !== anchor.fromSeq || tree.toSeq !== anchor.toSeq) {
    throw new AnchorMismatchError(anchor, null, `${at}: the events read cover [${tree.fromSeq}, ${tree.toSeq}]`);
  }
  if (tree.root !== anchor.root) throw new AnchorMismatchError(anchor, tree.root, `${at}: root on chain ${anchor.root}, root of the log's events ${tree.root}`);
  return tree;
}

/** What anyone checks, off chain: that (seq, eventHash) is a leaf of the tree with this root (@openzeppelin/merkle-tree). */
export function verifyEventProof(p: { root: Hex; seq: bigint; eventHash: Hex; proof: readonly Hex[] }): boolean {
  try {
    return StandardMerkleTree.verify(p.root, [...ANCHOR_LEAF_ENCODING], [p.seq, p.eventHash], [...p.proof]);
  } catch {
    // a malformed proof or hash (wrong length, not hex) proves nothing
    return false;
  }
}

/** How an inclusion proof is checked, for the people and tools that are handed one. */
export const ANCHOR_PROOF_HOWTO: readonly string[] = [
  'eventHash = keccak256(the event message bytes as stored on the log); the leaf is (seq, eventHash) encoded as ["uint64", "bytes32"].',
  "Off chain: StandardMerkleTree.verify(root, ['uint64', 'bytes32'], [seq, eventHash], proof) from @openzeppelin/merkle-tree answers true.",
  'On chain: AuditAnchor(anchorContract).getAnchor(anchorIndex).root equals root, and verifyEvent(anchorIndex, seq, eventHash, proof) answers true.',
];
