import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { nodeFilterHelp, nodePageSchema, nodeSchema, nodesQuerySchema, type NodeAnswer } from '@starminer/events';
import { IdPipe, ZodPipe } from '@starminer/service-kit';
import { Operation } from '../openapi';
import { NodeQueries } from './node-search';

export const NODE_EXAMPLE: NodeAnswer = {
  nodeId: 'node-h100-eu-1',
  nodeAddress: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
  providerId: 'acme-gpu',
  gpuModel: 'H100',
  gpuCount: 8,
  vramGiB: 80,
  region: 'eu-west',
  latencyMs: 12,
  tee: false,
  benchmarkScore: 1840,
  reputation: 0.94,
  online: true,
  stakeWei: '1000000000000000000000',
  poolId: 'pool-eu',
  activeJobs: 2,
};

@ApiTags('market')
@Controller('v1/nodes')
export class NodesController {
  constructor(private readonly nodes: NodeQueries) {}

  @Get()
  @Operation({
    operationId: 'listNodes',
    summary: 'Search the supply: the registered nodes that pass a filter, paged by cursor in nodeId order',
    description: `\`filter\` is the node search language (the CLI's \`starminer nodes search\`).\n\n${nodeFilterHelp()}\n\nA filter that does not parse answers 400 BAD_FILTER with \`details\` { term, position (0-based), expected }.`,
    auth: 'public',
    query: nodesQuerySchema,
    answers: { 200: { schema: nodePageSchema, description: 'one page of the nodes that pass the filter', example: { nodes: [NODE_EXAMPLE], nextCursor: null } } },
    errors: ['BAD_FILTER', 'BAD_CURSOR'],
  })
  list(@Query(new ZodPipe(nodesQuerySchema)) q: z.output<typeof nodesQuerySchema>): Promise<z.input<typeof nodePageSchema>> {
    return this.nodes.search(q.filter, q);
  }

  @Get(':nodeId')
  @Operation({
    operationId: 'getNode',
    summary: 'One node of the supply',
    auth: 'public',
    answers: { 200: { schema: nodeSchema, description: 'the node', example: NODE_EXAMPLE } },
    errors: ['BAD_ID', 'NODE_NOT_FOUND'],
  })
  get(@Param('nodeId', IdPipe) nodeId: string): Promise<z.input<typeof nodeSchema>> {
    return this.nodes.get(nodeId);
  }
}
