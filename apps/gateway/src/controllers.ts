import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { In, MoreThan, type FindOptionsWhere } from 'typeorm';
import { uuidv7 } from 'uuidv7';
import { CATEGORIES } from '@starminer/events';
import { accountDecider, DomainError } from '@starminer/domain';
import { agpuBalance } from '@starminer/chain';
import { ApiKeyGuard, NodeSignatureGuard, OperatorGuard, newApiKey, sha256Hex } from './auth';
import { DEFAULT_ENGINE_CONFIG } from '@starminer/matching';
import { CreateOrgDto, FaucetDto, ListQueryDto, PricesQueryDto, RegisterNodeDto, SubmitJobDto, SubmitResultDto } from './dto';
import { ApiKeyRow, JobView, MarketPriceView, NodeView, OrgRow } from './entities';
import { GatewayService } from './gateway.service';
import { Idempotency } from './idempotency';
import { decodeCursor, encodeCursor, priceBoard, type MarketKey } from './prices';
import { jobToResponse } from './views.projection';
import { defaultDeadlineSec, toWorkload } from './workload';

type OrgRequest = { orgId: string };
type NodeRequest = { nodeAddress: string };
export const PAGE_SIZE_MAX = 100;
export const PAGE_SIZE_DEFAULT = 50;

@Controller()
export class HealthController {
  @Get('healthz') health() {
    return { ok: true };
  }
}

@ApiTags('orgs')
@Controller('v1')
export class OrgsController {
  constructor(
    private readonly gw: GatewayService,
    private readonly idempotency: Idempotency,
  ) {}

  @Post('orgs')
  @UseGuards(OperatorGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Create an org with an API key and a custodial on-chain account (operator token)' })
  async create(@Body() dto: CreateOrgDto) {
    const orgId = uuidv7();
    const { accountAddress, custodyIndex } = await this.gw.command<{ accountAddress: string; custodyIndex: number }>('deployer', 'allocateAccount', { orgId });
    const { seqs } = await this.gw.rt.execute('account', orgId, accountDecider, { type: 'RegisterOrg', orgId, name: dto.name, accountAddress, custodyIndex }, {
      correlationId: orgId,
      causationId: orgId,
      actor: 'operator',
    });
    const apiKey = newApiKey();
    await this.gw.rt.db.getRepository(ApiKeyRow).insert({ keyHash: sha256Hex(apiKey), orgId, createdAt: new Date() });
    await this.gw.caughtUpTo(seqs.at(-1));
    return { orgId, name: dto.name, apiKey, accountAddress };
  }

  @Get('accounts/me')
  @UseGuards(ApiKeyGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'The caller org and its on-chain AGPU balance' })
  async me(@Req() req: OrgRequest) {
    const org = await this.gw.rt.db.getRepository(OrgRow).findOneOrFail({ where: { orgId: req.orgId } });
    const balanceWei = await agpuBalance(this.gw.publicClient, {
      token: this.gw.config.MARKET_ADDRESSES.token,
      account: org.accountAddress as `0x${string}`,
    });
    return { orgId: org.orgId, name: org.name, accountAddress: org.accountAddress, balanceWei: balanceWei.toString() };
  }

  @Post('dev/faucet')
  @HttpCode(200)
  @UseGuards(ApiKeyGuard)
  @ApiBearerAuth()
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  @ApiOperation({ summary: 'Dev mode only: mint AGPU to the caller org account. An Idempotency-Key makes a retry mint nothing more.' })
  async faucet(@Req() req: OrgRequest, @Body() dto: FaucetDto, @Headers('idempotency-key') key: string | undefined) {
    if (!this.gw.config.DEV_MODE) throw new DomainError('DEV_MODE_OFF', 'the faucet exists only in dev mode');
    const answer = await this.idempotency.run(req.orgId, key === undefined ? undefined : `faucet:${key}`, dto, async () => ({
      statusCode: 200,
      body: await this.gw.command<{ txHash: string; balanceWei: string }>('deployer', 'mint', { orgId: req.orgId, amountWei: dto.amountWei, requestId: key ?? uuidv7() }),
    }));
    return answer.body;
  }
}

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('v1/jobs')
@UseGuards(ApiKeyGuard)
export class JobsController {
  constructor(
    private readonly gw: GatewayService,
    private readonly idempotency: Idempotency,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Submit a job; 202 with its id. Idempotency-Key returns the first answer again.' })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  async submit(@Req() req: OrgRequest, @Body() dto: SubmitJobDto, @Headers('idempotency-key') key: string | undefined, @Res({ passthrough: true }) res: { status(code: number): void }) {
    const answer = await this.idempotency.run(req.orgId, key, dto, async () => {
      const spec = {
        category: dto.category,
        budgetWei: dto.budgetWei,
        urgency: dto.urgency,
        latencyPreference: dto.latencyPreference,
        requirements: dto.requirements,
        expectedRuntimeSec: dto.expectedRuntimeSec,
        deadlineSec: dto.deadlineSec ?? defaultDeadlineSec(dto.expectedRuntimeSec),
        green: dto.green ?? false,
        workload: toWorkload(dto.workload),
      };
      const { jobId, seq } = await this.gw.command<{ jobId: string; seq: number }>('intake', 'submitJob', { orgId: req.orgId, spec, requestId: key ?? uuidv7() });
      await this.gw.caughtUpTo(seq);
      return { statusCode: 202, body: { jobId, status: 'queued' } };
    });
    res.status(answer.statusCode);
    return answer.body;
  }

  @Get()
  @ApiOperation({ summary: "The caller org's jobs, newest last, paged by cursor" })
  async list(@Req() req: OrgRequest, @Query() q: ListQueryDto) {
    const limit = Math.min(q.limit ?? PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX);
    const where: FindOptionsWhere<JobView> = { orgId: req.orgId, ...(q.cursor ? { jobId: MoreThan(q.cursor) } : {}) };
    const rows = await this.gw.rt.db.getRepository(JobView).find({ where, order: { jobId: 'ASC' }, take: limit });
    return { jobs: rows.map(jobToResponse), nextCursor: rows.length === limit ? rows[rows.length - 1].jobId : null };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One job of the caller org: status, node, price, contract, transactions, result' })
  async get(@Req() req: OrgRequest, @Param('id') id: string) {
    const job = await this.gw.rt.db.getRepository(JobView).findOne({ where: { jobId: id, orgId: req.orgId } });
    if (!job) throw new DomainError('JOB_NOT_FOUND', `no job ${id} in your org`);
    return jobToResponse(job);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a job that is still queued' })
  async cancel(@Req() req: OrgRequest, @Param('id') id: string) {
    const job = await this.gw.rt.db.getRepository(JobView).findOne({ where: { jobId: id, orgId: req.orgId } });
    if (!job) throw new DomainError('JOB_NOT_FOUND', `no job ${id} in your org`);
    const { seq } = await this.gw.command<{ seq: number | null }>('intake', 'cancelJob', { orgId: req.orgId, jobId: id });
    await this.gw.caughtUpTo(seq);
    return { jobId: id, status: 'cancelled' };
  }
}

@ApiTags('market')
@Controller('v1')
export class MarketController {
  constructor(private readonly gw: GatewayService) {}

  @Get('nodes')
  @ApiOperation({ summary: 'The supply: registered nodes, paged by cursor' })
  async nodes(@Query() q: ListQueryDto) {
    const limit = Math.min(q.limit ?? PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX);
    const rows = await this.gw.rt.db.getRepository(NodeView).find({ where: q.cursor ? { nodeId: MoreThan(q.cursor) } : {}, order: { nodeId: 'ASC' }, take: limit });
    return { nodes: rows, nextCursor: rows.length === limit ? rows[rows.length - 1].nodeId : null };
  }

  @Get('market/queues')
  @ApiOperation({ summary: 'Queue depth per category' })
  async queues() {
    const rows: { category: string; depth: string }[] = await this.gw.rt.db
      .getRepository(JobView)
      .createQueryBuilder('j')
      .select('j.category', 'category')
      .addSelect('COUNT(*)', 'depth')
      .where('j.status = :s', { s: 'queued' })
      .groupBy('j.category')
      .getRawMany();
    const depth = Object.fromEntries(CATEGORIES.map((c) => [c, 0]));
    for (const r of rows) depth[r.category] = Number(r.depth);
    return { queues: depth };
  }

  @Get('market/prices')
  @ApiOperation({
    summary: 'The price board: per (GPU class, region) market, the price of one GPU-hour per tier, with its terms',
    description:
      'price = base × tier multiplier × utilization multiplier (basis points, 10,000 = 1.0). Urgencies map to tiers. ' +
      'The utilization multiplier moves with the market (PriceChanged on the log); a job\'s quote is fixed at match from these terms.',
  })
  async prices(@Query() q: PricesQueryDto) {
    const limit = Math.min(q.limit ?? PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX);
    const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    const nodeFilter: FindOptionsWhere<NodeView> = { ...(q.gpuModel ? { gpuModel: q.gpuModel } : {}), ...(q.region ? { region: q.region } : {}) };
    const priceFilter: FindOptionsWhere<MarketPriceView> = { ...(q.gpuModel ? { gpuClass: q.gpuModel } : {}), ...(q.region ? { region: q.region } : {}) };
    const supply: MarketKey[] = await this.gw.rt.db
      .getRepository(NodeView)
      .createQueryBuilder('n')
      .select('n.gpuModel', 'gpuClass')
      .addSelect('n.region', 'region')
      .where(nodeFilter)
      .distinct(true)
      .getRawMany();
    const priced = await this.gw.rt.db.getRepository(MarketPriceView).find({ where: priceFilter });
    const { rows, next } = priceBoard(supply, priced, DEFAULT_ENGINE_CONFIG.pricing, { limit, after });
    return { markets: rows, nextCursor: next ? encodeCursor(next) : null };
  }
}

@ApiTags('providers')
@Controller('v1/providers/nodes')
@UseGuards(NodeSignatureGuard)
export class ProvidersController {
  constructor(private readonly gw: GatewayService) {}

  @Post()
  @ApiOperation({ summary: 'Register a node (signed by the node key)' })
  async register(@Req() req: NodeRequest, @Body() dto: RegisterNodeDto) {
    const { nodeId } = await this.gw.command<{ nodeId: string }>('registry', 'registerNode', { nodeAddress: req.nodeAddress, registration: { ...dto } });
    return { nodeId };
  }

  @Post(':nodeId/heartbeat')
  @HttpCode(200)
  async heartbeat(@Req() req: NodeRequest, @Param('nodeId') nodeId: string) {
    return this.gw.command('registry', 'heartbeat', { nodeId, nodeAddress: req.nodeAddress });
  }

  @Get(':nodeId/assignments')
  @ApiOperation({ summary: 'Jobs whose contract is open for this node' })
  async assignments(@Req() req: NodeRequest, @Param('nodeId') nodeId: string) {
    await this.ownNode(req, nodeId);
    const jobs = await this.gw.rt.db.getRepository(JobView).find({ where: { nodeId, status: In(['contracted', 'running']) }, order: { jobId: 'ASC' }, take: PAGE_SIZE_MAX });
    return {
      assignments: jobs.map((j) => ({
        jobId: j.jobId,
        status: j.status,
        workload: j.workload,
        expectedRuntimeSec: j.expectedRuntimeSec,
        deadlineUnixSec: j.deadlineUnixSec === null ? null : Number(j.deadlineUnixSec),
        costWei: j.costWei?.toString() ?? null,
        contractAddress: j.contractAddress,
        market: { chainId: this.gw.config.CHAIN_ID, addresses: this.gw.config.MARKET_ADDRESSES },
      })),
    };
  }

  @Post(':nodeId/jobs/:jobId/start')
  @HttpCode(200)
  async start(@Req() req: NodeRequest, @Param('nodeId') nodeId: string, @Param('jobId') jobId: string) {
    await this.ownNode(req, nodeId);
    return this.gw.command<{ status: string }>('settlement', 'startJob', { jobId, nodeId, nodeAddress: req.nodeAddress });
  }

  @Post(':nodeId/jobs/:jobId/result')
  @HttpCode(200)
  async result(@Req() req: NodeRequest, @Param('nodeId') nodeId: string, @Param('jobId') jobId: string, @Body() dto: SubmitResultDto) {
    await this.ownNode(req, nodeId);
    return this.gw.command<{ status: string; outcome: string }>('settlement', 'submitResult', { jobId, nodeId, nodeAddress: req.nodeAddress, ...dto });
  }

  private async ownNode(req: NodeRequest, nodeId: string): Promise<void> {
    const node = await this.gw.rt.db.getRepository(NodeView).findOne({ where: { nodeId } });
    if (!node) throw new DomainError('NODE_NOT_FOUND', `node ${nodeId} is not registered`);
    if (node.nodeAddress !== req.nodeAddress) throw new DomainError('NOT_NODE_KEY', 'signed by another key than the node key');
  }
}
