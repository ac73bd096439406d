/**
 * Checks a job event's inclusion in the trade log's anchor, in the browser: the event hash is
 * keccak256 of the stored message's UTF-8 bytes, and the leaf (seq, eventHash), encoded as the
 * proofs' leafEncoding (`["uint64", "bytes32"]`), with its proof rebuilds the anchor's root.
 * The same computation as @openzeppelin/merkle-tree's StandardMerkleTree.verify (leaf =
 * keccak256(keccak256(abi.encode(values))), pairs hashed sorted), written with viem so the bundle
 * carries no Node polyfills; proofs.spec.ts checks it against that library.
 */
import { concat, encodeAbiParameters, keccak256, stringToBytes, type Hex } from 'viem';

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

/** The standard leaf hash of a value tuple under its encoding. */
export function standardLeafHash(leafEncoding: readonly string[], values: readonly unknown[]): Hex {
  const params = leafEncoding.map((type) => ({ type }));
  return keccak256(keccak256(encodeAbiParameters(params, values)));
}

const compareHex = (a: Hex, b: Hex): number => {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

/** The hash of a pair of nodes, sorted (so a proof need not say left or right). */
export const hashPair = (a: Hex, b: Hex): Hex => keccak256(compareHex(a, b) <= 0 ? concat([a, b]) : concat([b, a]));

/** The root a leaf and its proof rebuild. */
export function processProof(leaf: Hex, proof: readonly Hex[]): Hex {
  return proof.reduce<Hex>((node, sibling) => hashPair(node, sibling), leaf);
}

export interface ProvenEventLike {
  seq: number;
  message: string;
  eventHash: string;
  anchor: { root: string } | null;
  proof: string[] | null;
}

export type EventVerdict =
  | { state: 'verified'; eventHashMatches: true; rootMatches: true; root: string }
  | { state: 'not-anchored'; eventHashMatches: boolean }
  | { state: 'failed'; eventHashMatches: boolean; rootMatches: boolean; reason: string };

/** Whether the event is the stored message, and its leaf is in its anchor's tree. */
export function verifyProvenEvent(e: ProvenEventLike, leafEncoding: readonly string[]): EventVerdict {
  const computed = keccak256(stringToBytes(e.message));
  const eventHashMatches = computed.toLowerCase() === e.eventHash.toLowerCase();
  if (!e.anchor || !e.proof) return { state: 'not-anchored', eventHashMatches };
  if (!BYTES32.test(e.anchor.root) || !e.proof.every((p) => BYTES32.test(p))) return { state: 'failed', eventHashMatches, rootMatches: false, reason: 'the root or a proof step is not a 32-byte hash' };
  if (leafEncoding.length !== 2) return { state: 'failed', eventHashMatches, rootMatches: false, reason: `unexpected leaf encoding ${leafEncoding.join(',')}` };
  let rootMatches = false;
  try {
    const leaf = standardLeafHash(leafEncoding, [BigInt(e.seq), e.eventHash]);
    rootMatches = processProof(leaf, e.proof as Hex[]).toLowerCase() === e.anchor.root.toLowerCase();
  } catch (err) {
    return { state: 'failed', eventHashMatches, rootMatches: false, reason: `the leaf could not be encoded: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (eventHashMatches && rootMatches) return { state: 'verified', eventHashMatches: true, rootMatches: true, root: e.anchor.root };
  return {
    state: 'failed',
    eventHashMatches,
    rootMatches,
    reason: !eventHashMatches ? 'keccak256 of the message is not its eventHash' : 'the proof does not rebuild the anchor root',
  };
}
