import { Body, Controller, Headers, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { uuidv7 } from 'uuidv7';
import { z } from 'zod';
import { DomainError } from '@starminer/domain';
import { COMMANDS, faucetMintSchema, faucetRequestSchema, type PayloadOf } from '@starminer/events';
import { CommandBus, InjectConfig, ZodPipe } from '@starminer/service-kit';
import { ApiKeyGuard, type OrgRequest } from '../auth/guards';
import type { GatewayConfig } from '../gateway.config';
import { Idempotency, idempotencyKeyOf } from '../idempotency/idempotency';
import { IDEMPOTENCY_HEADER, Operation } from '../openapi';
import { FAUCET_MINT_EXAMPLE } from '../orgs/org-examples';

/** The faucet's idempotency records live beside the jobs' under their own prefix: one key may name a job and a mint. */
export const faucetRecordKey = (key: string): string => `faucet:${key}`;

/**
 * The mint a faucet request becomes: keyed by the Idempotency-Key (the deployer mints once per
 * request id of an org), or without one by an id minted here, once per request. Every attempt of
 * one request sends the same command.
 */
export function faucetMintCommand(orgId: string, key: string | undefined, body: z.output<typeof faucetRequestSchema>): PayloadOf<typeof COMMANDS.deployer.mint> {
  return { orgId, amountWei: body.amountWei, requestId: key ?? uuidv7() };
}

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
  @Operation({
    operationId: 'faucet',
    summary: "Dev mode only: mint AGPU to the caller org's account",
    description: 'An Idempotency-Key makes a retry mint nothing more: it answers the first mint again. Without DEV_MODE the route answers 404 DEV_MODE_OFF.',
    auth: 'apiKey',
    headers: [IDEMPOTENCY_HEADER],
    body: faucetRequestSchema,
    bodyExample: { amountWei: '1000000000000000000000' },
    answers: { 200: { schema: faucetMintSchema, description: "the mint's transaction and the balance after it", example: FAUCET_MINT_EXAMPLE } },
    errors: ['DEV_MODE_OFF', 'ORG_NOT_FOUND', 'AMOUNT_NOT_POSITIVE', 'FAUCET_LIMIT', 'COMMAND_UNAVAILABLE', 'CHAIN_UNAVAILABLE'],
  })
  async faucet(
    @Req() req: OrgRequest,
    @Body(new ZodPipe(faucetRequestSchema)) body: z.output<typeof faucetRequestSchema>,
    @Headers('idempotency-key') keyHeader: string | undefined,
  ): Promise<z.input<typeof faucetMintSchema>> {
    if (!this.config.DEV_MODE) throw new DomainError('DEV_MODE_OFF', 'the faucet exists only in dev mode');
    const key = idempotencyKeyOf(keyHeader);
    const command = faucetMintCommand(req.orgId, key, body);
    // a retry that takes over an attempt which never answered sends the same request id: the deployer answers the first mint
    const answer = await this.idempotency.run(req.orgId, key === undefined ? undefined : faucetRecordKey(key), body, async () => {
      const minted = await this.bus.send(COMMANDS.deployer.mint, command);
      const mint: z.input<typeof faucetMintSchema> = { txHash: minted.txHash, balanceWei: minted.balanceWei.toString() };
      return { statusCode: 200, body: mint };
    });
    return answer.body as z.input<typeof faucetMintSchema>;
  }
}
