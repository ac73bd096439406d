import type { IncomingMessage } from 'node:http';
import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import {
  assignmentsQuerySchema, assignmentsSchema, COMMANDS, giveUpJobRequestSchema, heartbeatAckSchema, heartbeatRequestSchema, idSchema, nodeRegisteredSchema, providerJobStatusSchema, registerNodeRequestSchema, resultAcceptedSchema, submitResultRequestSchema,
} from '@starminer/events';
import { CommandBus, IdPipe, InjectConfig, ZodPipe } from '@starminer/service-kit';
import { NodeSignatureGuard, type NodeRequest } from '../auth/guards';
import type { GatewayConfig } from '../gateway.config';
import { jobStatusOfContract } from '../jobs/job-answer';
import { Operation } from '../openapi';
import { assignmentOf } from './assignment';
import { AssignmentWaits } from './assignment-waits';
import { PollHeartbeats } from './poll-heartbeats';
import { ASSIGNMENTS_EXAMPLE, REGISTER_NODE_EXAMPLE, SUBMIT_RESULT_EXAMPLE } from './provider-examples';
import { ProviderQueries } from './provider-queries';

const nodeIdParam = { nodeId: { schema: idSchema, description: 'the node id it registered with' } };
const jobParams = { ...nodeIdParam, jobId: { schema: idSchema, description: 'the job of an assignment' } };

/** Errors of a call that the node's own record answers: an unknown node, another key. */
const OWN_NODE = ['NODE_NOT_FOUND', 'NOT_NODE_KEY'] as const;
/** Errors of a call that becomes a command: its service away, its aggregate unreadable, an event refused. */
const COMMAND = ['COMMAND_UNAVAILABLE', 'AGGREGATE_UNREADABLE', 'EVENT_REFUSED'] as const;

/** The provider agent's API: every call is signed by the node key (docs/SERVICE-CONTRACT.md). */
@ApiTags('providers')
@Controller('v1/providers/nodes')
@UseGuards(NodeSignatureGuard)
export class ProvidersController {
  constructor(
    private readonly bus: CommandBus,
    private readonly providers: ProviderQueries,
    private readonly waits: AssignmentWaits,
    private readonly heartbeats: PollHeartbeats,
    @InjectConfig() private readonly config: GatewayConfig,
  ) {}

  @Post()
  @Operation({
    operationId: 'registerNode',
    summary: 'Register a node, signed by its node key',
    description: 'One node key registers one node: the same registration again answers the same; another node id for the key is NODE_KEY_IN_USE.',
    auth: 'node',
    body: registerNodeRequestSchema,
    bodyExample: REGISTER_NODE_EXAMPLE,
    answers: { 201: { schema: nodeRegisteredSchema, description: 'the node is registered', example: { nodeId: REGISTER_NODE_EXAMPLE.nodeId } } },
    errors: ['UNKNOWN_GPU_MODEL', 'VRAM_IMPLAUSIBLE', 'BENCHMARK_REQUIRED', 'NODE_EXISTS', 'NODE_KEY_IN_USE', ...COMMAND],
  })
  async register(
    @Req() req: NodeRequest,
    @Body(new ZodPipe(registerNodeRequestSchema)) registration: z.output<typeof registerNodeRequestSchema>,
  ): Promise<z.input<typeof nodeRegisteredSchema>> {
    return this.bus.send(COMMANDS.registry.registerNode, { nodeAddress: req.nodeAddress, registration });
  }

  @Post(':nodeId/heartbeat')
  @HttpCode(200)
  @Operation({
    operationId: 'heartbeat',
    summary: 'The node is alive (an offline node comes back online), with its GPUs\' live telemetry when it has GPUs',
    description:
      'The body may carry `telemetry`: one entry a GPU (at most the node\'s registered count, else TELEMETRY_INVALID), as nvidia-smi read them. ' +
      'The registry keeps the latest and a short history (GET /v1/nodes/{nodeId}); none of it goes on the trade log. A CPU-only agent sends no body.',
    auth: 'node',
    params: nodeIdParam,
    body: heartbeatRequestSchema,
    bodyOptional: true,
    bodyExample: { telemetry: { sampledAt: '2026-11-27T17:06:56.659Z', gpus: [{ index: 0, utilizationPct: 100, memoryUsedMiB: 1011, powerDrawW: 691.56, powerLimitW: 700, temperatureC: 55 }] } },
    answers: { 200: { schema: heartbeatAckSchema, description: 'the node is online', example: { ok: true } } },
    errors: [...OWN_NODE, 'TELEMETRY_INVALID', ...COMMAND],
  })
  async heartbeat(
    @Req() req: NodeRequest,
    @Param('nodeId', IdPipe) nodeId: string,
    @Body(new ZodPipe(heartbeatRequestSchema.optional())) body: z.output<typeof heartbeatRequestSchema> | undefined,
  ): Promise<z.input<typeof heartbeatAckSchema>> {
    const telemetry = body?.telemetry;
    return this.bus.send(COMMANDS.registry.heartbeat, telemetry ? { nodeId, nodeAddress: req.nodeAddress, telemetry } : { nodeId, nodeAddress: req.nodeAddress });
  }

  @Get(':nodeId/assignments')
  @Operation({
    operationId: 'getAssignments',
    summary: 'Jobs whose contract is open for this node: what to run, by when, for what',
    description:
      'With `waitMs`, a long poll: while none of the node\'s jobs is contracted and not yet started, the answer waits up to waitMs ' +
      '(at most LIMITS.assignmentsWaitMsMax, 20 s) for a contract to open for the node, then answers (possibly still without new work). ' +
      'An agent polls again at once after a long poll, so it learns of new work as its contract opens. ' +
      'A long poll is also the node\'s heartbeat (sent on to the registry at most every 10 s per node): `alive: true` says it counted, and the agent may skip its own heartbeats while it polls.',
    auth: 'node',
    params: nodeIdParam,
    query: assignmentsQuerySchema,
    answers: { 200: { schema: assignmentsSchema, description: "the node's contracted and running jobs", example: ASSIGNMENTS_EXAMPLE } },
    errors: [...OWN_NODE],
  })
  async assignments(
    @Req() req: NodeRequest & IncomingMessage,
    @Param('nodeId', IdPipe) nodeId: string,
    @Query(new ZodPipe(assignmentsQuerySchema)) q: z.output<typeof assignmentsQuerySchema>,
  ): Promise<z.input<typeof assignmentsSchema>> {
    await this.providers.ownNode(nodeId, req.nodeAddress);
    const waitMs = q.waitMs ?? 0;
    // a long-polling agent is alive: its poll is its heartbeat (sent while the poll waits)
    const alive = waitMs > 0 ? this.heartbeats.beat(nodeId, req.nodeAddress) : undefined;
    const jobs = await this.waits.read(req, nodeId, waitMs, () => this.providers.assignments(nodeId));
    if (alive) this.heartbeats.hurry(nodeId); // answered before the beat's flush: send it now
    const market = { chainId: this.config.CHAIN_ID, addresses: this.config.MARKET_ADDRESSES };
    const assignments = jobs.flatMap((j) => assignmentOf(j, market) ?? []);
    return alive ? { assignments, alive: await alive } : { assignments };
  }

  @Post(':nodeId/jobs/:jobId/start')
  @HttpCode(200)
  @Operation({
    operationId: 'startJob',
    summary: 'The node starts an assigned job',
    description: 'Once: starting a running job again answers running.',
    auth: 'node',
    params: jobParams,
    answers: { 200: { schema: providerJobStatusSchema, description: "the job's status: running", example: { status: 'running' } } },
    errors: [...OWN_NODE, 'CONTRACT_NOT_OPEN', 'NOT_ASSIGNED_NODE', ...COMMAND],
  })
  async start(@Req() req: NodeRequest, @Param('nodeId', IdPipe) nodeId: string, @Param('jobId', IdPipe) jobId: string): Promise<z.input<typeof providerJobStatusSchema>> {
    await this.providers.ownNode(nodeId, req.nodeAddress);
    const { status } = await this.bus.send(COMMANDS.settlement.startJob, { jobId, nodeId, nodeAddress: req.nodeAddress });
    return { status: jobStatusOfContract(status) ?? 'running' };
  }

  @Post(':nodeId/jobs/:jobId/give-up')
  @HttpCode(200)
  @Operation({
    operationId: 'giveUpJob',
    summary: 'The node gives an assigned job up',
    description:
      'Re-match on failure: the node cannot run the job to the end. Its attempt fails, it is paid nothing, and the job is matched again on another node ' +
      '(queued, then contracted to it); after its last attempt the escrow is refunded to the requester with the reason.',
    auth: 'node',
    params: jobParams,
    body: giveUpJobRequestSchema,
    bodyExample: { reason: 'the GPU fell off the bus' },
    answers: { 200: { schema: providerJobStatusSchema, description: "the job's status: queued (for another node), or running on its last attempt (refunded once the refund lands)", example: { status: 'queued' } } },
    errors: [...OWN_NODE, 'CONTRACT_NOT_OPEN', 'NOT_ASSIGNED_NODE', 'RESULT_ALREADY_FINAL', ...COMMAND],
  })
  async giveUp(
    @Req() req: NodeRequest,
    @Param('nodeId', IdPipe) nodeId: string,
    @Param('jobId', IdPipe) jobId: string,
    @Body(new ZodPipe(giveUpJobRequestSchema)) body: z.output<typeof giveUpJobRequestSchema>,
  ): Promise<z.input<typeof providerJobStatusSchema>> {
    await this.providers.ownNode(nodeId, req.nodeAddress);
    const { status } = await this.bus.send(COMMANDS.settlement.giveUpJob, { jobId, nodeId, nodeAddress: req.nodeAddress, reason: body.reason });
    return { status: jobStatusOfContract(status) ?? 'queued' };
  }

  @Post(':nodeId/jobs/:jobId/result')
  @HttpCode(200)
  @Operation({
    operationId: 'submitResult',
    summary: 'The result and its proof, signed (EIP-712) by the node key',
    description:
      'Settlement recomputes the result on its workers: a valid one is released to the node key (completed, then settled once the chain has it), ' +
      'a wrong one refunds the requester (the job stays running until the refund lands, then refunded). VERIFICATION_BUSY / VERIFICATION_TIMED_OUT decide nothing: send the same result again after Retry-After. ' +
      "A TEE node sends its attestation with the result (`attestation`: its format, e.g. nvidia-nras-eat, and the report bound to the job's nonce, sha256 of \"starminer-attestation:<jobId>\" in hex): " +
      'settlement records its hash and verdict; a job that required a TEE is released only with a verified one, else refunded with the code (ATTESTATION_MISSING, ATTESTATION_NONCE_MISMATCH, ...). ATTESTATION_UNAVAILABLE decides nothing: send it again after Retry-After.',
    auth: 'node',
    params: jobParams,
    body: submitResultRequestSchema,
    bodyExample: SUBMIT_RESULT_EXAMPLE,
    answers: { 200: { schema: resultAcceptedSchema, description: 'the result is verified and the outcome decided', example: { status: 'completed', outcome: 'release' } } },
    errors: [
      ...OWN_NODE, 'JOB_NOT_FOUND', 'CONTRACT_NOT_OPEN', 'BAD_RESULT_SIGNATURE', 'RESULT_ALREADY_FINAL', 'RESULT_TOO_LATE', 'VERIFICATION_BUSY', 'VERIFICATION_TIMED_OUT', 'ATTESTATION_UNAVAILABLE', ...COMMAND,
    ],
  })
  async result(
    @Req() req: NodeRequest,
    @Param('nodeId', IdPipe) nodeId: string,
    @Param('jobId', IdPipe) jobId: string,
    @Body(new ZodPipe(submitResultRequestSchema)) result: z.output<typeof submitResultRequestSchema>,
  ): Promise<z.input<typeof resultAcceptedSchema>> {
    await this.providers.ownNode(nodeId, req.nodeAddress);
    const { status, outcome } = await this.bus.send(COMMANDS.settlement.submitResult, { jobId, nodeId, nodeAddress: req.nodeAddress, ...result });
    return { status: jobStatusOfContract(status, outcome) ?? (outcome === 'release' ? 'completed' : 'running'), outcome };
  }
}
