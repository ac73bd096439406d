import { Body, Controller, Get, Post, Req, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { accountSchema, createOrgRequestSchema, orgCreatedSchema } from '@starminer/events';
import { ZodPipe } from '@starminer/service-kit';
import { ApiKeyGuard, OperatorGuard, type OrgRequest } from '../auth/guards';
import { Operation } from '../openapi';
import { ACCOUNT_EXAMPLE, ORG_CREATED_EXAMPLE } from './org-examples';
import { Orgs } from './orgs';

@ApiTags('orgs')
@Controller('v1')
export class OrgsController {
  constructor(private readonly orgs: Orgs) {}

  @Post('orgs')
  @UseGuards(OperatorGuard)
  @Operation({
    operationId: 'createOrg',
    summary: 'Create an org with an API key and a custodial on-chain account',
    description: 'Operator token only. The API key is shown once, in this answer; only its hash is kept.',
    auth: 'operator',
    body: createOrgRequestSchema,
    bodyExample: { name: 'Acme' },
    answers: { 201: { schema: orgCreatedSchema, description: 'the org, its API key and its account', example: ORG_CREATED_EXAMPLE } },
    errors: ['EVENT_REFUSED', 'COMMAND_UNAVAILABLE', 'AGGREGATE_UNREADABLE'],
  })
  create(@Body(new ZodPipe(createOrgRequestSchema)) body: z.output<typeof createOrgRequestSchema>): Promise<z.input<typeof orgCreatedSchema>> {
    return this.orgs.create(body.name);
  }

  @Get('accounts/me')
  @UseGuards(ApiKeyGuard)
  @Operation({
    operationId: 'getAccount',
    summary: "The caller's org and its on-chain AGPU balance",
    auth: 'apiKey',
    answers: { 200: { schema: accountSchema, description: 'the org and its balance on chain now', example: ACCOUNT_EXAMPLE } },
    errors: ['ORG_NOT_FOUND', 'CHAIN_UNAVAILABLE'],
  })
  me(@Req() req: OrgRequest): Promise<z.input<typeof accountSchema>> {
    return this.orgs.account(req.orgId);
  }
}
