import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { DomainError } from '@starminer/domain';
import {
  COMMANDS, createVaultRequestSchema, editVaultTemplateRequestSchema, idSchema, LIMITS, listQuerySchema, VAULT_TRIGGER_SIGNATURE_HEADER, vaultCreatedSchema, vaultFiredSchema,
  vaultPageSchema, vaultSchema, type ErrorCode, type PayloadOf,
} from '@starminer/events';
import { CommandBus, IdPipe, ZodPipe } from '@starminer/service-kit';
import { ApiKeyGuard, type HttpRequest, type OrgRequest } from '../auth/guards';
import { Idempotency, idempotencyKeyOf } from '../idempotency/idempotency';
import { IDEMPOTENCY_HEADER, Operation } from '../openapi';
import { verifyVaultTriggerSignature } from './trigger-signature';
import { VAULT_EXAMPLE, CREATE_VAULT_EXAMPLE } from './vault-examples';
import { vaultIdOf } from './vault-id';
import { templateSpecOf, Vaults } from './vaults';

type Change = PayloadOf<typeof COMMANDS.intake.changeVault>['change'];
type VaultBody = z.input<typeof vaultSchema>;

const vaultIdParam = { vaultId: { schema: idSchema, description: 'the vault id, as createVault answered it' } };
const SPEC_ERRORS: readonly ErrorCode[] = [
  'CAP_BELOW_TEMPLATE_BUDGET', 'BUDGET_NOT_POSITIVE', 'BUDGET_TOO_LARGE', 'UNKNOWN_GPU_MODEL', 'REQUIREMENT_UNSATISFIABLE', 'GPU_COUNT_REQUIRED', 'GPU_COUNT_TOO_LARGE',
  'RUNTIME_OUT_OF_RANGE', 'DEADLINE_OUT_OF_RANGE',
];
const COMMAND_ERRORS: readonly ErrorCode[] = ['EVENT_REFUSED', 'AGGREGATE_UNREADABLE', 'COMMAND_UNAVAILABLE'];

/** The caller org's vaults: create, read, edit the template, pause, resume, close. */
@ApiTags('vaults')
@Controller('v1/vaults')
@UseGuards(ApiKeyGuard)
export class VaultsController {
  constructor(
    private readonly vaults: Vaults,
    private readonly idempotency: Idempotency,
  ) {}

  @Post()
  @Operation({
    operationId: 'createVault',
    summary: 'Create a vault',
    description:
      "A deposit from the org's custodial account, a cap per period, one job template (the body of POST /v1/jobs) and its triggers. " +
      'Each trigger slot fires once: a job of the template, paid from the vault, counted against the period\'s cap. ' +
      'The answer carries the secret of its trigger URLs, this once. With an Idempotency-Key every retry gets the first answer (the vault id is derived from the org and the key).',
    auth: 'apiKey',
    headers: [IDEMPOTENCY_HEADER],
    body: createVaultRequestSchema,
    bodyExample: CREATE_VAULT_EXAMPLE,
    answers: { 201: { schema: vaultCreatedSchema, description: 'the vault, and its trigger secret (null without a URL trigger)', example: { vault: VAULT_EXAMPLE, triggerSecret: `vtsec_${'A'.repeat(43)}` } } },
    errors: ['ORG_NOT_FOUND', 'VAULT_ID_IN_USE', 'AMOUNT_NOT_POSITIVE', 'DUPLICATE_TRIGGER_ID', 'BAD_CRON', 'BAD_TIME_ZONE', 'INSUFFICIENT_FUNDS', 'FUNDS_VIEW_STALE', ...SPEC_ERRORS, ...COMMAND_ERRORS],
  })
  async create(
    @Req() req: OrgRequest,
    @Body(new ZodPipe(createVaultRequestSchema)) body: z.output<typeof createVaultRequestSchema>,
    @Headers('idempotency-key') keyHeader: string | undefined,
    @Res({ passthrough: true }) res: { status(code: number): void },
  ): Promise<z.input<typeof vaultCreatedSchema>> {
    const key = idempotencyKeyOf(keyHeader);
    const vaultId = vaultIdOf(req.orgId, key);
    const answer = await this.idempotency.run(req.orgId, key, { route: 'createVault', body }, async () => ({
      statusCode: 201,
      body: await this.vaults.create(req.orgId, vaultId, key ?? vaultId, body, Date.now()),
    }));
    res.status(answer.statusCode);
    return answer.body as z.input<typeof vaultCreatedSchema>;
  }

  @Get()
  @Operation({
    operationId: 'listVaults',
    summary: "The caller org's vaults in creation order, paged by cursor",
    auth: 'apiKey',
    query: listQuerySchema,
    answers: { 200: { schema: vaultPageSchema, description: 'one page; nextCursor is null on the last', example: { vaults: [VAULT_EXAMPLE], nextCursor: null } } },
    errors: ['BAD_CURSOR', 'AGGREGATE_UNREADABLE'],
  })
  list(@Req() req: OrgRequest, @Query(new ZodPipe(listQuerySchema)) q: z.output<typeof listQuerySchema>): Promise<z.input<typeof vaultPageSchema>> {
    return this.vaults.list(req.orgId, q, Date.now());
  }

  @Get(':vaultId')
  @Operation({
    operationId: 'getVault',
    summary: 'One vault of the caller org',
    description: `Its terms, balance (the deposit less what its firings may draw), the current period's spending, template, triggers (a URL trigger with its path), and its newest ${LIMITS.vaultFiringsListedMax} firings and skips with their jobs.`,
    auth: 'apiKey',
    params: vaultIdParam,
    answers: { 200: { schema: vaultSchema, description: 'the vault', example: VAULT_EXAMPLE } },
    errors: ['VAULT_NOT_FOUND', 'AGGREGATE_UNREADABLE'],
  })
  get(@Req() req: OrgRequest, @Param('vaultId', IdPipe) vaultId: string): Promise<VaultBody> {
    return this.vaults.get(req.orgId, vaultId, Date.now());
  }

  @Post(':vaultId/template')
  @HttpCode(200)
  @Operation({
    operationId: 'editVaultTemplate',
    summary: "Replace a vault's job template",
    description: 'Firings from now on submit the new template (its budget within the cap); the period\'s spending is kept. A closed vault answers 409 VAULT_CLOSED.',
    auth: 'apiKey',
    params: vaultIdParam,
    headers: [IDEMPOTENCY_HEADER],
    body: editVaultTemplateRequestSchema,
    answers: { 200: { schema: vaultSchema, description: 'the vault with its new template', example: VAULT_EXAMPLE } },
    errors: ['VAULT_NOT_FOUND', 'VAULT_CLOSED', ...SPEC_ERRORS, ...COMMAND_ERRORS],
  })
  editTemplate(
    @Req() req: OrgRequest,
    @Param('vaultId', IdPipe) vaultId: string,
    @Body(new ZodPipe(editVaultTemplateRequestSchema)) body: z.output<typeof editVaultTemplateRequestSchema>,
    @Headers('idempotency-key') key: string | undefined,
  ): Promise<VaultBody> {
    return this.change(req, vaultId, key, { route: 'editVaultTemplate', vaultId, body }, { type: 'editTemplate', template: templateSpecOf(body.template) });
  }

  @Post(':vaultId/pause')
  @HttpCode(200)
  @Operation({
    operationId: 'pauseVault',
    summary: 'Pause a vault',
    description: 'Nothing fires while it is paused (its slots are recorded as skipped); a paused vault answers as it is.',
    auth: 'apiKey',
    params: vaultIdParam,
    headers: [IDEMPOTENCY_HEADER],
    answers: { 200: { schema: vaultSchema, description: 'the vault, paused', example: { ...VAULT_EXAMPLE, status: 'paused' } } },
    errors: ['VAULT_NOT_FOUND', 'VAULT_CLOSED', ...COMMAND_ERRORS],
  })
  pause(@Req() req: OrgRequest, @Param('vaultId', IdPipe) vaultId: string, @Headers('idempotency-key') key: string | undefined): Promise<VaultBody> {
    return this.change(req, vaultId, key, { route: 'pauseVault', vaultId }, { type: 'pause' });
  }

  @Post(':vaultId/resume')
  @HttpCode(200)
  @Operation({
    operationId: 'resumeVault',
    summary: 'Resume a paused vault',
    auth: 'apiKey',
    params: vaultIdParam,
    headers: [IDEMPOTENCY_HEADER],
    answers: { 200: { schema: vaultSchema, description: 'the vault, active', example: VAULT_EXAMPLE } },
    errors: ['VAULT_NOT_FOUND', 'VAULT_CLOSED', ...COMMAND_ERRORS],
  })
  resume(@Req() req: OrgRequest, @Param('vaultId', IdPipe) vaultId: string, @Headers('idempotency-key') key: string | undefined): Promise<VaultBody> {
    return this.change(req, vaultId, key, { route: 'resumeVault', vaultId }, { type: 'resume' });
  }

  @Post(':vaultId/close')
  @HttpCode(200)
  @Operation({
    operationId: 'closeVault',
    summary: 'Close a vault for good',
    description: 'No more firings; the remainder goes back to the org\'s custodial account on chain. A closed vault answers as it is.',
    auth: 'apiKey',
    params: vaultIdParam,
    headers: [IDEMPOTENCY_HEADER],
    answers: { 200: { schema: vaultSchema, description: 'the vault, closed', example: { ...VAULT_EXAMPLE, status: 'closed' } } },
    errors: ['VAULT_NOT_FOUND', ...COMMAND_ERRORS],
  })
  close(@Req() req: OrgRequest, @Param('vaultId', IdPipe) vaultId: string, @Headers('idempotency-key') key: string | undefined): Promise<VaultBody> {
    return this.change(req, vaultId, key, { route: 'closeVault', vaultId }, { type: 'close' });
  }

  private async change(req: OrgRequest, vaultId: string, keyHeader: string | undefined, request: unknown, change: Change): Promise<VaultBody> {
    const key = idempotencyKeyOf(keyHeader);
    const answer = await this.idempotency.run(req.orgId, key, request, async () => ({ statusCode: 200, body: await this.vaults.change(req.orgId, vaultId, change, Date.now()) }));
    return answer.body as VaultBody;
  }
}

/**
 * A vault's trigger URL: no API key, the call is signed with the vault's trigger secret
 * (`starminer-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`), and its
 * Idempotency-Key names the firing, so a retry answers the first one.
 */
@ApiTags('vaults')
@Controller('v1/vault-triggers')
export class VaultTriggersController {
  constructor(
    private readonly vaults: Vaults,
    private readonly bus: CommandBus,
  ) {}

  @Post(':vaultId/:triggerId')
  @HttpCode(200)
  @Operation({
    operationId: 'fireVaultTrigger',
    summary: "Call a vault's trigger URL",
    description:
      `Signed with the vault's trigger secret (createVault answered it once): \`${VAULT_TRIGGER_SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>\`, ` +
      `t within ${LIMITS.vaultTriggerSignatureSkewSecMax} s of the gateway's clock. The Idempotency-Key (required) names the firing: the same key again answers the same firing and job. ` +
      'The body is any JSON object (signed, not stored), {} when there is nothing to say.',
    auth: 'public',
    params: { ...vaultIdParam, triggerId: { schema: idSchema, description: "the URL trigger's id" } },
    headers: [
      { ...IDEMPOTENCY_HEADER, required: true },
      { name: VAULT_TRIGGER_SIGNATURE_HEADER, required: true, description: 't=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>' },
    ],
    answers: { 200: { schema: vaultFiredSchema, description: 'the firing and the job it submits', example: { vaultId: VAULT_EXAMPLE.vaultId, triggerId: 'hook', firingId: `vf_${'0a'.repeat(20)}`, jobId: `vj_${'0a'.repeat(20)}` } } },
    errors: ['TRIGGER_SIGNATURE_INVALID', 'TRIGGER_NOT_FOUND', 'VAULT_PAUSED', 'VAULT_CLOSED', 'VAULT_CAP_EXCEEDED', 'VAULT_BALANCE_INSUFFICIENT', 'TRIGGER_KEYS_FULL', 'TRIGGER_KEY_EXPIRED', ...COMMAND_ERRORS],
  })
  async fire(
    @Req() req: HttpRequest,
    @Param('vaultId', IdPipe) vaultId: string,
    @Param('triggerId', IdPipe) triggerId: string,
    @Headers('idempotency-key') keyHeader: string | undefined,
  ): Promise<z.input<typeof vaultFiredSchema>> {
    const key = idempotencyKeyOf(keyHeader);
    if (key === undefined) throw new DomainError('IDEMPOTENCY_KEY_INVALID', 'a trigger call needs an Idempotency-Key: it names the firing');
    const note = await this.vaults.triggerNote(vaultId);
    const signed =
      note !== undefined &&
      verifyVaultTriggerSignature({
        secret: note.secret,
        header: req.headers[VAULT_TRIGGER_SIGNATURE_HEADER],
        body: req.rawBody ? req.rawBody.toString('utf8') : '',
        nowSec: Math.floor(Date.now() / 1000),
        skewSecMax: LIMITS.vaultTriggerSignatureSkewSecMax,
      });
    // an unknown vault answers as a bad signature: a trigger URL tells nothing to who cannot sign
    if (!note || !signed) throw new DomainError('TRIGGER_SIGNATURE_INVALID', `the ${VAULT_TRIGGER_SIGNATURE_HEADER} header is missing, stale or does not match`);
    const { firingId, jobId } = await this.bus.send(COMMANDS.intake.fireVault, { orgId: note.orgId, vaultId, triggerId, slot: key });
    return { vaultId, triggerId, firingId, jobId };
  }
}
