import { Body, Controller, Headers, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { uuidv7 } from 'uuidv7';
import { z } from 'zod';
import { DomainError } from '@starminer/domain';
import { COMMANDS, faucetRequestSchema } from '@starminer/events';
import { CommandBus, InjectConfig, ZodPipe } from '@starminer/service-kit';
import { ApiKeyGuard, type OrgRequest } from '../auth/guards';
import type { GatewayConfig } from '../gateway.config';
import { Idempotency, idempotencyKeyOf } from '../idempotency/idempotency';
import { openApiOf } from '../openapi';

@ApiTags('orgs')
@Controller('v1/dev')
export class FaucetController {
  constructor(
    private readonly bus: CommandBus,
    private readonly idempotency: Idempotency,
    @InjectConfig() private readonly config: GatewayConfig,
  ) {}

  @Post('faucet')
  @HttpCode(200)
  @UseGuards(ApiKeyGuard)
  @ApiBearerAuth()
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: '1-128 printable ASCII characters' })
  @ApiBody({ schema: openApiOf(faucetRequestSchema) })
  @ApiOperation({ summary: 'Dev mode only: mint AGPU to the caller org account. An Idempotency-Key makes a retry mint nothing more.' })
  async faucet(@Req() req: OrgRequest, @Body(new ZodPipe(faucetRequestSchema)) body: z.output<typeof faucetRequestSchema>, @Headers('idempotency-key') keyHeader: string | undefined) {
    if (!this.config.DEV_MODE) throw new DomainError('DEV_MODE_OFF', 'the faucet exists only in dev mode');
    const key = idempotencyKeyOf(keyHeader);
    const answer = await this.idempotency.run(req.orgId, key === undefined ? undefined : `faucet:${key}`, body, async () => {
      const minted = await this.bus.send(COMMANDS.deployer.mint, { orgId: req.orgId, amountWei: body.amountWei, requestId: key ?? uuidv7() });
      return { statusCode: 200, body: { txHash: minted.txHash, balanceWei: minted.balanceWei.toString() } };
    });
    return answer.body;
  }
}
