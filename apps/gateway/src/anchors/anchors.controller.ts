import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { anchorPageSchema, listQuerySchema } from '@starminer/events';
import { ZodPipe } from '@starminer/service-kit';
import { Operation } from '../openapi';
import { AnchorList, type AnchorAnswer, type AnchorPageAnswer } from './anchor-list';

export const ANCHOR_EXAMPLE: AnchorAnswer = {
  index: 41,
  fromSeq: 40_001,
  toSeq: 41_287,
  root: '0x5f0c1b8e4a2d9c7b3e6f1a0d8c4b2e9f7a1c3d5e8b0f2a4c6e8d0b2f4a6c8e0d',
  txHash: '0x9a3e7c1f5b2d8e4a6c0f3b7d9e1a5c8f2b4d6e0a3c7f9b1d5e8a2c4f6b0d3e7a',
  blockNumber: 18_204,
  postedAt: '2026-01-15T10:00:00.000Z',
  onChain: 'verified',
};

@ApiTags('audit')
@Controller('v1/anchors')
export class AnchorsController {
  constructor(private readonly anchors: AnchorList) {}

  @Get()
  @Operation({
    operationId: 'listAnchors',
    summary: "The trade log's anchors on chain, newest first, each checked against the anchor contract",
    description:
      'Every anchor the deployer posted (a Merkle root of the log range [fromSeq, toSeq], every ANCHOR_INTERVAL_MS), as the log records it (its AnchorPosted event), ' +
      "paged by cursor from the newest. onChain compares the log's range and root with what the AuditAnchor contract stores at the same index (getAnchor(index)): " +
      'verified (the same), mismatch (another range or root: the log and the chain disagree), missing (the chain holds no anchor there: it lost it, or it was never posted). ' +
      "This checks the roots, not the events under them: a job's events are proven against these roots by GET /v1/jobs/{jobId}/proofs, the whole log by the audit tool.",
    auth: 'public',
    query: listQuerySchema,
    answers: { 200: { schema: anchorPageSchema, description: 'one page of the anchors, newest first', example: { anchors: [ANCHOR_EXAMPLE], nextCursor: '41' } } },
    errors: ['BAD_CURSOR', 'AGGREGATE_UNREADABLE', 'CHAIN_UNAVAILABLE'],
  })
  list(@Query(new ZodPipe(listQuerySchema)) q: z.output<typeof listQuerySchema>): Promise<AnchorPageAnswer> {
    return this.anchors.page(q);
  }
}
