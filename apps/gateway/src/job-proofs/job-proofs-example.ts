import { ANCHOR_LEAF_ENCODING, buildAnchorTree, eventHashOf } from '@starminer/chain';
import { encodeEvent, EXAMPLE_EVENT_DATA, type jobProofsSchema } from '@starminer/events';
import type { z } from 'zod';

const JOB_ID = '0190f5a3-1b2c-7d4e-8f90-a1b2c3d4e5f6';
const envelopeOf = (type: 'JobSubmitted' | 'JobMatched', id: string) => ({
  id,
  type,
  schemaVersion: 1,
  aggregateId: JOB_ID,
  occurredAt: '2026-11-27T12:00:00.000Z',
  correlationId: JOB_ID,
  causationId: JOB_ID,
  actor: type === 'JobSubmitted' ? 'org:org_acme' : 'service:matching',
  data: { ...EXAMPLE_EVENT_DATA[type], jobId: JOB_ID },
});

/**
 * The example of getJobProofs, made the way the gateway makes an answer: the first event is
 * proven in a (two-event) anchor built here, so the example's proof really verifies; the second
 * came after the last anchor.
 */
function example(): z.input<typeof jobProofsSchema> {
  const subject = `trade.job.${JOB_ID}`;
  const submitted = encodeEvent(envelopeOf('JobSubmitted', '0190f5a3-1b2c-7d4e-8f90-000000000001'), subject);
  const matched = encodeEvent(envelopeOf('JobMatched', '0190f5a3-1b2c-7d4e-8f90-000000000002'), subject);
  const leaves = [
    { seq: 1040n, eventHash: eventHashOf(new TextEncoder().encode('{"an":"earlier event of the log"}')) },
    { seq: 1041n, eventHash: eventHashOf(submitted) },
  ];
  const tree = buildAnchorTree(leaves);
  const text = (b: Uint8Array): string => new TextDecoder().decode(b);
  return {
    jobId: JOB_ID,
    chainId: 31337,
    anchorContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    leafEncoding: [...ANCHOR_LEAF_ENCODING],
    anchoredThroughSeq: 1041,
    events: [
      {
        seq: 1041,
        subject,
        message: text(submitted),
        eventHash: eventHashOf(submitted),
        envelope: JSON.parse(text(submitted)) as z.input<typeof jobProofsSchema>['events'][number]['envelope'],
        anchor: { index: 7, fromSeq: 1040, toSeq: 1041, root: tree.root, txHash: `0x${'ab'.repeat(32)}` },
        proof: tree.proof(1041n),
      },
      {
        seq: 1043,
        subject,
        message: text(matched),
        eventHash: eventHashOf(matched),
        envelope: JSON.parse(text(matched)) as z.input<typeof jobProofsSchema>['events'][number]['envelope'],
        anchor: null,
        proof: null,
      },
    ],
  };
}

export const JOB_PROOFS_EXAMPLE = example();
