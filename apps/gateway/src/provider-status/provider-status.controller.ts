import { Controller, Get, Param, Query, Req, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { listQuerySchema, earningsPageSchema, nodeStatusSchema } from '@starminer/events';
import { IdPipe, ZodPipe } from '@starminer/service-kit';
import { NodeSignatureGuard, type NodeRequest } from '../auth/guards';
import { NODE_EXAMPLE } from '../nodes/nodes.controller';
import { Operation } from '../openapi';
import { ProviderStatusQueries, type EarningsPage, type NodeStatus } from './provider-status';

const TX = `0x${'4e'.repeat(32)}`;

/** What a provider reads of its own node: its standing in the market and what it was paid. Signed by the node key. */
@ApiTags('providers')
@Controller('v1/providers/nodes')
@UseGuards(NodeSignatureGuard)
export class ProviderStatusController {
  constructor(private readonly queries: ProviderStatusQueries) {}

  @Get(':nodeId')
  @Operation({
    operationId: 'getNodeStatus',
    summary: 'The node as the market sees it: online, reputation, stake, and its jobs by status now',
    auth: 'node',
    answers: {
      200: {
        schema: nodeStatusSchema,
        description: 'the node and its jobs by status',
        example: {
          node: NODE_EXAMPLE,
          jobs: { queued: 0, matched: 1, contracted: 0, running: 1, completed: 0, settled: 41, refunded: 1, failed: 0, cancelled: 0 },
        } satisfies NodeStatus,
      },
    },
    errors: ['BAD_ID', 'NODE_NOT_FOUND', 'NOT_NODE_KEY'],
  })
  status(@Req() req: NodeRequest, @Param('nodeId', IdPipe) nodeId: string): Promise<NodeStatus> {
    return this.queries.status(nodeId, req.nodeAddress);
  }

  @Get(':nodeId/earnings')
  @Operation({
    operationId: 'getEarnings',
    summary: 'What the node was paid: its settled jobs (paged, oldest settlement first) with cost and settle transaction, the total, refunded and failed counts',
    auth: 'node',
    query: listQuerySchema,
    answers: {
      200: {
        schema: earningsPageSchema,
        description: 'the totals and one page of settled jobs',
        example: {
          nodeId: NODE_EXAMPLE.nodeId,
          nodeAddress: NODE_EXAMPLE.nodeAddress,
          totalEarnedWei: '1250000000000000000',
          settledJobs: 1,
          refundedJobs: 0,
          failedJobs: 0,
          jobs: [{ jobId: 'job-1', costWei: '1250000000000000000', paidWei: '1250000000000000000', settleTxHash: TX, settledAt: '2026-11-27T12:00:00.000Z' }],
          nextCursor: null,
        } satisfies EarningsPage,
      },
    },
    errors: ['BAD_ID', 'BAD_CURSOR', 'NODE_NOT_FOUND', 'NOT_NODE_KEY'],
  })
  earnings(@Req() req: NodeRequest, @Param('nodeId', IdPipe) nodeId: string, @Query(new ZodPipe(listQuerySchema)) q: z.output<typeof listQuerySchema>): Promise<EarningsPage> {
    return this.queries.earnings(nodeId, req.nodeAddress, q);
  }
}
