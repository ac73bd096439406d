import { Injectable } from '@nestjs/common';
import { DomainError, vaultDecider } from '@starminer/domain';
import { COMMANDS, defaultDeadlineSec, LIMITS, type CreateVaultRequest, type PayloadOf, type VaultAnswer } from '@starminer/events';
import { CommandBus, ServiceRuntime } from '@starminer/service-kit';
import { newVaultTriggerSecret } from './trigger-signature';
import { vaultAnswerOf } from './vault-answer';
import { VaultNoteRow } from './vault-row.entity';

type JobRequest = CreateVaultRequest['template'];
type Change = PayloadOf<typeof COMMANDS.intake.changeVault>['change'];

/** The job spec a template request becomes: the defaults a POST /v1/jobs fills, filled the same. */
export const templateSpecOf = (t: JobRequest): PayloadOf<typeof COMMANDS.intake.createVault>['template'] => ({
  ...t,
  deadlineSec: t.deadlineSec ?? defaultDeadlineSec(t.expectedRuntimeSec),
  green: t.green ?? false,
});

/**
 * An org's vaults at the edge: the commands go to intake, which decides on the vault's subject;
 * the answers are folded from that subject (so a change is seen at once), listed by the gateway's
 * notes of the org's vaults.
 */
@Injectable()
export class Vaults {
  constructor(
    private readonly rt: ServiceRuntime,
    private readonly bus: CommandBus,
  ) {}

  /**
   * Creates the vault `vaultId` (derived from the request's key): its note first, holding the
   * trigger secret, so every attempt of the request answers the same one; then intake's command.
   * A refused creation leaves no note behind.
   */
  async create(orgId: string, vaultId: string, requestId: string, body: CreateVaultRequest, nowMs: number): Promise<{ vault: VaultAnswer; triggerSecret: string | null }> {
    const note = await this.note(orgId, vaultId, body.triggers.some((t) => t.kind === 'url'), nowMs);
    try {
      await this.bus.send(COMMANDS.intake.createVault, {
        orgId,
        vaultId,
        requestId,
        depositWei: body.depositWei,
        capPerPeriodWei: body.capPerPeriodWei,
        periodSec: body.periodSec,
        template: templateSpecOf(body.template),
        triggers: body.triggers.map((t) => (t.kind === 'cron' ? { ...t, timeZone: t.timeZone ?? 'UTC' } : t)),
      });
    } catch (err) {
      if (err instanceof DomainError && err.kind !== 'unavailable' && (await this.rt.load('vault', vaultId, vaultDecider)).state.status === 'none') {
        await this.rt.db.getRepository(VaultNoteRow).delete({ vaultId, orgId });
      }
      throw err;
    }
    return { vault: await this.get(orgId, vaultId, nowMs), triggerSecret: note.triggerSecret };
  }

  /** The note of this vault: this attempt's, or the first attempt's (its secret). */
  private async note(orgId: string, vaultId: string, withSecret: boolean, nowMs: number): Promise<VaultNoteRow> {
    const repo = this.rt.db.getRepository(VaultNoteRow);
    await repo
      .createQueryBuilder()
      .insert()
      .values({ vaultId, orgId, triggerSecret: withSecret ? newVaultTriggerSecret() : null, createdAt: new Date(nowMs) })
      .orIgnore()
      .execute();
    const note = await repo.findOneBy({ vaultId });
    // a vault id is derived from its org: another org's note under it is a collision of ids minted without a key
    if (!note || note.orgId !== orgId) throw new DomainError('VAULT_ID_IN_USE', `vault id ${vaultId} is in use`);
    return note;
  }

  async change(orgId: string, vaultId: string, change: Change, nowMs: number): Promise<VaultAnswer> {
    await this.bus.send(COMMANDS.intake.changeVault, { orgId, vaultId, change });
    return this.get(orgId, vaultId, nowMs);
  }

  /** One vault of the org, folded from its subject; another org's vault does not exist for it. */
  async get(orgId: string, vaultId: string, nowMs: number): Promise<VaultAnswer> {
    const { state } = await this.rt.load('vault', vaultId, vaultDecider);
    if (state.status === 'none' || state.orgId !== orgId) throw new DomainError('VAULT_NOT_FOUND', `no vault ${vaultId} in your org`);
    return vaultAnswerOf(state, nowMs);
  }

  /** The org's vaults in creation order (then by id), after the one named by `cursor`, at most `limit`; a cursor that names none of them is BAD_CURSOR. */
  async list(orgId: string, page: { limit?: number; cursor?: string }, nowMs: number): Promise<{ vaults: VaultAnswer[]; nextCursor: string | null }> {
    const limit = page.limit ?? LIMITS.pageSizeDefault;
    const repo = this.rt.db.getRepository(VaultNoteRow);
    const q = repo.createQueryBuilder('v').where('v.orgId = :orgId', { orgId });
    if (page.cursor) {
      const after = await repo.findOne({ where: { orgId, vaultId: page.cursor }, select: { vaultId: true, createdAt: true } });
      if (!after) throw new DomainError('BAD_CURSOR', 'the cursor is not one this endpoint handed out');
      q.andWhere('(v.createdAt, v.vaultId) > (:at, :id)', { at: after.createdAt, id: after.vaultId });
    }
    const rows = await q.orderBy('v.createdAt', 'ASC').addOrderBy('v.vaultId', 'ASC').limit(limit).getMany();
    const vaults: VaultAnswer[] = [];
    for (const row of rows) {
      const { state } = await this.rt.load('vault', row.vaultId, vaultDecider);
      // a note whose creation is in flight or was refused: not a vault (yet)
      if (state.status !== 'none' && state.orgId === orgId) vaults.push(vaultAnswerOf(state, nowMs));
    }
    return { vaults, nextCursor: rows.length === limit ? rows[rows.length - 1].vaultId : null };
  }

  /** The secret and org of a vault's trigger URLs; undefined when the gateway holds none. */
  async triggerNote(vaultId: string): Promise<{ orgId: string; secret: string } | undefined> {
    const note = await this.rt.db.getRepository(VaultNoteRow).findOneBy({ vaultId });
    return note?.triggerSecret ? { orgId: note.orgId, secret: note.triggerSecret } : undefined;
  }
}
