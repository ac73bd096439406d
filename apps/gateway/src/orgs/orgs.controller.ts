import { Body, Controller, Get, Post, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { uuidv7 } from 'uuidv7';
import { agpuBalance } from '@starminer/chain';
import { accountDecider, DomainError } from '@starminer/domain';
import { COMMANDS, createOrgRequestSchema } from '@starminer/events';
import { CommandBus, InjectConfig, publicClientFor, ServiceRuntime, ZodPipe } from '@starminer/service-kit';
import { z } from 'zod';
import { ApiKeyGuard, newApiKey, OperatorGuard, sha256Hex, type OrgRequest } from '../auth/guards';
import { ApiKeyRow } from '../auth/entities';
import type { GatewayConfig } from '../gateway.config';
import { openApiOf } from '../openapi';
import { OrgRow } from '../views/entities';
import { GatewayViews } from '../views/gateway-views';

@ApiTags('orgs')
@Controller('v1')
export class OrgsController {
  private readonly publicClient;

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly bus: CommandBus,
    private readonly views: GatewayViews,
    @InjectConfig() private readonly config: GatewayConfig,
  ) {
    this.publicClient = publicClientFor(config);
  }

  /**
   * A new org: its custodial on-chain account (deployer), OrgRegistered on its own subject, and an
   * API key of which only the hash is kept.
   */
  @Post('orgs')
  @UseGuards(OperatorGuard)
  @ApiBearerAuth()
  @ApiBody({ schema: openApiOf(createOrgRequestSchema) })
  @ApiOperation({ summary: 'Create an org with an API key and a custodial on-chain account (operator token)' })
  async create(@Body(new ZodPipe(createOrgRequestSchema)) body: z.output<typeof createOrgRequestSchema>) {
    const orgId = uuidv7();
    const { accountAddress, custodyIndex } = await this.bus.send(COMMANDS.deployer.allocateAccount, { orgId });
    const { seqs } = await this.rt.execute('account', orgId, accountDecider, { type: 'RegisterOrg', orgId, name: body.name, accountAddress, custodyIndex }, {
      correlationId: orgId,
      causationId: orgId,
      actor: 'operator',
    });
    const apiKey = newApiKey();
    await this.rt.db.getRepository(ApiKeyRow).insert({ keyHash: sha256Hex(apiKey), orgId, createdAt: new Date() });
    await this.views.caughtUpTo(seqs.at(-1));
    return { orgId, name: body.name, apiKey, accountAddress };
  }

  @Get('accounts/me')
  @UseGuards(ApiKeyGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'The caller org and its on-chain AGPU balance' })
  async me(@Req() req: OrgRequest) {
    const org = await this.rt.db.getRepository(OrgRow).findOne({ where: { orgId: req.orgId } });
    if (!org) throw new DomainError('ORG_NOT_FOUND', 'the org of this key is not projected yet; try again');
    const balanceWei = await agpuBalance(this.publicClient, { token: this.config.MARKET_ADDRESSES.token, account: org.accountAddress as `0x${string}` });
    return { orgId: org.orgId, name: org.name, accountAddress: org.accountAddress, balanceWei: balanceWei.toString() };
  }
}
