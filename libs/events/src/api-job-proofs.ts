import { z } from 'zod';
import { apiComponent } from './api-components';
import { bytes32Schema, idSchema } from './primitives';

/**
 * `GET /v1/jobs/{jobId}/proofs`: a job's events as the trade log stores them, each with its
 * inclusion proof in the anchor on chain that covers it, so the job's org can check, with
 * @openzeppelin/merkle-tree and the AuditAnchor contract and nothing of ours, that its history is
 * the one the market anchored.
 */

const addressOut = z.string().regex(/^0x[0-9a-fA-F]{40}$/);
const txHashOut = z.string().regex(/^0x[0-9a-fA-F]{64}$/);

/** The envelope as the log stores it (its data in the shape of its schemaVersion, amounts as decimal strings). */
export const storedEnvelopeSchema = apiComponent(
  'StoredEnvelope',
  z.strictObject({
    id: z.string(),
    type: z.string(),
    schemaVersion: z.number().int().positive(),
    aggregateId: z.string(),
    occurredAt: z.string(),
    correlationId: z.string(),
    causationId: z.string(),
    actor: z.string(),
    data: z.record(z.string(), z.unknown()),
  }),
  "an event's envelope as the trade log stores it: data in the shape of its schemaVersion, amounts as decimal strings",
);

export const eventAnchorSchema = apiComponent(
  'EventAnchor',
  z.strictObject({
    index: z.number().int().nonnegative().describe("the anchor's index in the AuditAnchor contract"),
    fromSeq: z.number().int().positive(),
    toSeq: z.number().int().positive(),
    root: bytes32Schema.describe('the Merkle root the chain holds for [fromSeq, toSeq]'),
    txHash: txHashOut.nullable().describe('the transaction that posted it, as the log records it; null when it was not recorded'),
  }),
  'the anchor on chain whose range of the log holds an event',
);

export const provenEventSchema = apiComponent(
  'ProvenEvent',
  z.strictObject({
    seq: z.number().int().positive().describe("the event's stream sequence: its position on the trade log, the leaf's first value"),
    subject: z.string(),
    message: z.string().describe('the event as the log stores it (UTF-8 JSON); eventHash is keccak256 of these bytes'),
    eventHash: bytes32Schema,
    envelope: storedEnvelopeSchema,
    anchor: eventAnchorSchema.nullable().describe('null while no anchor covers the event yet'),
    proof: z.array(bytes32Schema).nullable().describe("the Merkle proof of the leaf (seq, eventHash) in the anchor's tree; null while not anchored"),
  }),
  'one event of the log and its inclusion proof: StandardMerkleTree.verify(anchor.root, leafEncoding, [seq, eventHash], proof), or the contract\'s verifyEvent(anchor.index, seq, eventHash, proof)',
);

export const jobProofsSchema = apiComponent(
  'JobProofs',
  z.strictObject({
    jobId: idSchema,
    chainId: z.number().int().positive(),
    anchorContract: addressOut.nullable().describe('the AuditAnchor contract; null when this market anchors nothing'),
    leafEncoding: z.array(z.enum(['uint64', 'bytes32'])).describe('the leaf types of @openzeppelin/merkle-tree: ["uint64", "bytes32"] = (seq, eventHash)'),
    anchoredThroughSeq: z.number().int().nonnegative().describe('the last stream sequence the anchors on chain cover'),
    events: z.array(provenEventSchema).describe("the job's events (its job and contract subjects) in log order"),
  }),
  "a job's events as the log stores them, each with its proof in the anchor on chain that covers it (checkable with @openzeppelin/merkle-tree and the contract)",
);
