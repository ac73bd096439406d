import { applyDecorators, Body, Controller, Get, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { COMMANDS, registerNodeRequestSchema, submitResultRequestSchema } from '@starminer/events';
import { CommandBus, IdPipe, InjectConfig, ZodPipe } from '@starminer/service-kit';
import { NodeSignatureGuard, type NodeRequest } from '../auth/guards';
import type { GatewayConfig } from '../gateway.config';
import { openApiOf } from '../openapi';
import { ProviderQueries } from './provider-queries';

/** Every provider call is signed by the node key: these three headers (docs/SERVICE-CONTRACT.md). */
const Signed = () =>
  applyDecorators(
    ApiHeader({ name: 'x-node-address', required: true, description: 'the node key (0x + 40 hex)' }),
    ApiHeader({ name: 'x-node-nonce', required: true, description: 'a decimal integer above the last one this key sent' }),
    ApiHeader({ name: 'x-node-signature', required: true, description: 'EIP-191 signature by the node key of nodeRequestMessage(method, path, nonce, rawBody)' }),
  );

@ApiTags('providers')
@Controller('v1/providers/nodes')
@UseGuards(NodeSignatureGuard)
@Signed()
export class ProvidersController {
  constructor(
    private readonly bus: CommandBus,
    private readonly providers: ProviderQueries,
    @InjectConfig() private readonly config: GatewayConfig,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Register a node (signed by the node key): one key registers one node' })
  @ApiBody({ schema: openApiOf(registerNodeRequestSchema) })
  async register(@Req() req: NodeRequest, @Body(new ZodPipe(registerNodeRequestSchema)) registration: z.output<typeof registerNodeRequestSchema>) {
    return this.bus.send(COMMANDS.registry.registerNode, { nodeAddress: req.nodeAddress, registration });
  }

  @Post(':nodeId/heartbeat')
  @HttpCode(200)
  @ApiOperation({ summary: 'The node is alive (offline nodes come back online)' })
  async heartbeat(@Req() req: NodeRequest, @Param('nodeId', IdPipe) nodeId: string) {
    return this.bus.send(COMMANDS.registry.heartbeat, { nodeId, nodeAddress: req.nodeAddress });
  }

  @Get(':nodeId/assignments')
  @ApiOperation({ summary: 'Jobs whose contract is open for this node' })
  async assignments(@Req() req: NodeRequest, @Param('nodeId', IdPipe) nodeId: string) {
    await this.providers.ownNode(nodeId, req.nodeAddress);
    const jobs = await this.providers.assignments(nodeId);
    return {
      assignments: jobs.map((j) => ({
        jobId: j.jobId,
        status: j.status,
        workload: j.workload,
        expectedRuntimeSec: j.expectedRuntimeSec,
        deadlineUnixSec: j.deadlineUnixSec === null ? null : Number(j.deadlineUnixSec),
        costWei: j.costWei?.toString() ?? null,
        contractAddress: j.contractAddress,
        market: { chainId: this.config.CHAIN_ID, addresses: this.config.MARKET_ADDRESSES },
      })),
    };
  }

  @Post(':nodeId/jobs/:jobId/start')
  @HttpCode(200)
  @ApiOperation({ summary: 'The node starts an assigned job' })
  async start(@Req() req: NodeRequest, @Param('nodeId', IdPipe) nodeId: string, @Param('jobId', IdPipe) jobId: string) {
    await this.providers.ownNode(nodeId, req.nodeAddress);
    return this.bus.send(COMMANDS.settlement.startJob, { jobId, nodeId, nodeAddress: req.nodeAddress });
  }

  @Post(':nodeId/jobs/:jobId/result')
  @HttpCode(200)
  @ApiOperation({ summary: 'The result and its proof, signed (EIP-712) by the node key' })
  @ApiBody({ schema: openApiOf(submitResultRequestSchema) })
  async result(
    @Req() req: NodeRequest,
    @Param('nodeId', IdPipe) nodeId: string,
    @Param('jobId', IdPipe) jobId: string,
    @Body(new ZodPipe(submitResultRequestSchema)) result: z.output<typeof submitResultRequestSchema>,
  ) {
    await this.providers.ownNode(nodeId, req.nodeAddress);
    return this.bus.send(COMMANDS.settlement.submitResult, { jobId, nodeId, nodeAddress: req.nodeAddress, ...result });
  }
}
