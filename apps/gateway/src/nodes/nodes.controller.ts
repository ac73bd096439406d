import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { nodeDetailSchema, nodeFilterHelp, nodePageSchema, nodesQuerySchema, type NodeAnswer, type NodeDetailAnswer, type NodeTelemetry } from '@starminer/events';
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

/** An H200 under a bf16 matmul load, as nvidia-smi read it (../shared/data/gpu/h200-telemetry-under-load.csv). */
const TELEMETRY_EXAMPLE: NodeTelemetry = {
  sampledAt: '2026-11-27T17:06:56.659Z',
  gpus: [{ index: 0, utilizationPct: 100, memoryUsedMiB: 1011, powerDrawW: 691.56, powerLimitW: 700, temperatureC: 55 }],
};

export const NODE_DETAIL_EXAMPLE: NodeDetailAnswer = {
  ...NODE_EXAMPLE,
  nodeId: 'node-h200-eu-1',
  gpuModel: 'H200',
  gpuCount: 1,
  vramGiB: 141,
  benchmarkScore: 791.2,
  telemetry: {
    latest: TELEMETRY_EXAMPLE,
    history: [TELEMETRY_EXAMPLE, { sampledAt: '2026-11-27T17:06:46.659Z', gpus: [{ index: 0, utilizationPct: 0, memoryUsedMiB: 0, powerDrawW: 78.23, powerLimitW: 700, temperatureC: 32 }] }],
  },
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
    summary: 'One node of the supply, with its live GPU telemetry',
    description:
      'The node as the search lists it, plus `telemetry`: its GPUs\' utilization, memory used, power and temperature as its agent last sent them with a heartbeat, and the recent history (newest first, ' +
      'at most LIMITS.telemetryHistoryMax samples). Null for a node that never sent any (a CPU-only agent), and while the registry does not answer.',
    auth: 'public',
    answers: { 200: { schema: nodeDetailSchema, description: 'the node and its telemetry', example: NODE_DETAIL_EXAMPLE } },
    errors: ['BAD_ID', 'NODE_NOT_FOUND'],
  })
  get(@Param('nodeId', IdPipe) nodeId: string): Promise<z.input<typeof nodeDetailSchema>> {
    return this.nodes.get(nodeId);
  }
}
