import { Body, Controller, Get, Post, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { createOrgRequestSchema } from '@starminer/events';
import { ZodPipe } from '@starminer/service-kit';
import { ApiKeyGuard, OperatorGuard, type OrgRequest } from '../auth/guards';
import { openApiOf } from '../openapi';
import { Orgs } from './orgs';

@ApiTags('orgs')
@Controller('v1')
export class OrgsController {
  constructor(private readonly orgs: Orgs) {}

  @Post('orgs')
  @UseGuards(OperatorGuard)
  @ApiBearerAuth()
  @ApiBody({ schema: openApiOf(createOrgRequestSchema) })
  @ApiOperation({ summary: 'Create an org with an API key and a custodial on-chain account (operator token)' })
  create(@Body(new ZodPipe(createOrgRequestSchema)) body: z.output<typeof createOrgRequestSchema>) {
    return this.orgs.create(body.name);
  }

  @Get('accounts/me')
  @UseGuards(ApiKeyGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'The caller org and its on-chain AGPU balance' })
  me(@Req() req: OrgRequest) {
    return this.orgs.account(req.orgId);
  }
}
