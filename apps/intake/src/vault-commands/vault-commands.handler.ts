import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { decideVault, DomainError, initialVaultState, vaultDecider, vaultFiringId, vaultFiringJobId, type VaultCommand } from '@starminer/domain';
import { COMMANDS, type PayloadOf, type ReplyOf, type TradeEventOf } from '@starminer/events';
import { CommandHandler, ServiceRuntime, type Causation } from '@starminer/service-kit';
import { Reservations } from '../reservations/reservations';
import { vaultTemplateOf } from './vault-template';

const CREATE = COMMANDS.intake.createVault;
const CHANGE = COMMANDS.intake.changeVault;
const FIRE = COMMANDS.intake.fireVault;

/**
 * The org's vaults on `trade.vault.<vaultId>`: created (owned by the org's custodial account, the
 * template's hashes computed here), changed (template, pause, resume, close) and fired by a call of
 * a trigger URL. Every decision is the vault decider's, appended on the vault's subject with
 * optimistic concurrency, so replicas never record a slot twice.
 */
@Controller()
export class VaultCommandsHandler {
  constructor(
    private readonly rt: ServiceRuntime,
    private readonly reservations: Reservations,
  ) {}

  /**
   * The vault id comes from the edge: the same request again answers the first vault; another
   * request with the id is VAULT_ID_IN_USE. The deposit is reserved on the org's account under the
   * vault id (INSUFFICIENT_FUNDS like a job's budget) once the terms are valid, so jobs and top-ups
   * cannot spend it before the deployer opens the vault; the vault's open, its failure, or its close
   * before an open release it (release-funds/vault-deposits), a vault never created the sweep.
   */
  @CommandHandler(CREATE)
  async createVault(@Payload() p: PayloadOf<typeof CREATE>): Promise<ReplyOf<typeof CREATE>> {
    const first = await this.existing(p);
    if (first) return first;
    const account = await this.reservations.account(p.orgId);
    const command: VaultCommand = {
      type: 'CreateVault',
      vaultId: p.vaultId,
      orgId: p.orgId,
      ownerAddress: account.accountAddress,
      depositWei: p.depositWei,
      capPerPeriodWei: p.capPerPeriodWei,
      periodSec: p.periodSec,
      template: vaultTemplateOf(p.template),
      triggers: p.triggers,
      atMs: Date.now(),
    };
    // the terms are the decider's to refuse (pure) before anything is reserved for them
    decideVault(command, initialVaultState());
    const causation = this.causation(p.vaultId, p.orgId, p.requestId);
    await this.reservations.reserve(p.orgId, p.vaultId, p.depositWei, causation);
    try {
      const { seqs } = await this.rt.execute('vault', p.vaultId, vaultDecider, command, causation);
      return { vaultId: p.vaultId, seq: seqs[seqs.length - 1] };
    } catch (err) {
      // another attempt of this request got there first: it answers
      if (!(err instanceof DomainError && err.code === 'VAULT_ID_IN_USE')) throw err;
      const raced = await this.existing(p);
      if (raced) return raced;
      throw err;
    }
  }

  @CommandHandler(CHANGE)
  async changeVault(@Payload() p: PayloadOf<typeof CHANGE>): Promise<ReplyOf<typeof CHANGE>> {
    const c = p.change;
    const command: VaultCommand =
      c.type === 'editTemplate'
        ? { type: 'EditVaultTemplate', orgId: p.orgId, template: vaultTemplateOf(c.template) }
        : c.type === 'resume'
          ? { type: 'ResumeVault', orgId: p.orgId, atMs: Date.now() }
          : { type: c.type === 'pause' ? 'PauseVault' : 'CloseVault', orgId: p.orgId };
    const { seqs } = await this.rt.execute('vault', p.vaultId, vaultDecider, command, this.causation(p.vaultId, p.orgId, p.vaultId));
    return { seq: seqs.at(-1) ?? null };
  }

  /** A trigger URL's call: its slot is the caller's key, so the same call again answers the first firing (and appends nothing). */
  @CommandHandler(FIRE)
  async fireVault(@Payload() p: PayloadOf<typeof FIRE>): Promise<ReplyOf<typeof FIRE>> {
    const { state } = await this.rt.load('vault', p.vaultId, vaultDecider);
    if (state.status === 'none' || state.orgId !== p.orgId) throw new DomainError('VAULT_NOT_FOUND', 'no such vault in your org');
    if (!state.triggers.some((t) => t.triggerId === p.triggerId && t.kind === 'url')) throw new DomainError('TRIGGER_NOT_FOUND', `vault ${p.vaultId} has no URL trigger '${p.triggerId}'`);
    const firingId = vaultFiringId(p.vaultId, p.triggerId, p.slot);
    const { seqs } = await this.rt.execute(
      'vault',
      p.vaultId,
      vaultDecider,
      { type: 'FireVault', triggerId: p.triggerId, slot: p.slot, slotAtMs: Date.now() },
      { correlationId: vaultFiringJobId(firingId), causationId: p.slot, actor: `org:${p.orgId}` },
    );
    return { firingId, jobId: vaultFiringJobId(firingId), seq: seqs.at(-1) ?? null };
  }

  private causation(vaultId: string, orgId: string, causationId: string): Causation {
    return { correlationId: vaultId, causationId, actor: `org:${orgId}` };
  }

  /** The vault created with this id: its answer when it is this org's and this request's, VAULT_ID_IN_USE otherwise; undefined when there is none. */
  private async existing(p: PayloadOf<typeof CREATE>): Promise<ReplyOf<typeof CREATE> | undefined> {
    const e = (await this.rt.events('vault', p.vaultId)).find((x): x is TradeEventOf<'VaultCreated'> => x.type === 'VaultCreated');
    if (!e) return undefined;
    if (e.data.orgId === p.orgId && e.causationId === p.requestId) {
      const { events } = await this.rt.tradeLog.readSubject(this.rt.subject('vault', p.vaultId));
      const seq = events.find((x) => x.event.id === e.id)?.seq;
      if (seq !== undefined) return { vaultId: p.vaultId, seq };
    }
    throw new DomainError('VAULT_ID_IN_USE', `vault id ${p.vaultId} belongs to another request`, { vaultId: p.vaultId });
  }
}
