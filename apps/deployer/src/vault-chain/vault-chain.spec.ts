import type { Address, Hex } from 'viem';
import { agpuBalance, jobTemplateHash, mintAgpu, readVault } from '@starminer/chain';
import { vaultDecider, type VaultCommand, type VaultTemplate } from '@starminer/domain';
import { COMMANDS, EXAMPLE_EVENT_DATA, type TradeEvent } from '@starminer/events';
import { serviceUnderTest } from '@starminer/service-testing';
import { DeployerModule } from '../deployer.module';
import { VaultChainProjection } from './vault-chain.projection';
import { VaultChainReconciler } from './vault-chain.reconciler';

/**
 * The deployer keeps each vault on chain as the log has it: opened with its deposit from the org's
 * custodial account, its template moved, paused, resumed, closed with the remainder back to the
 * owner, each recorded once its receipt is final, never twice; an open the chain refuses for good is
 * VaultOpenFailed. On real NATS, Postgres and anvil (the background ticker is slowed so the spec
 * drives the rounds).
 */
const AGPU = 10n ** 18n;
const ORG = 'org-vault-chain';

const under = serviceUnderTest(DeployerModule, { chain: true, env: { DEPLOYER_OPEN_RECONCILE_MS: '3600000' } });
let owner: Address;

const chain = () => under.infra.chain!;
const reconciler = () => under.service.app.get(VaultChainReconciler);
const onChain = (vaultId: string) => readVault(chain().clients.publicClient, { addresses: chain().addresses, vaultId });
const balanceOf = (a: Address) => agpuBalance(chain().clients.publicClient, { token: chain().addresses.token, account: a });
const vaultEvents = async (vaultId: string): Promise<TradeEvent[]> => (await under.infra.log.readSubject(`trade.vault.${vaultId}`)).events.map((e) => e.event as TradeEvent);

const templateOf = (budgetWei: bigint, seed: string): VaultTemplate => {
  const specHash = `0x${Buffer.from(seed.padEnd(32, '.')).toString('hex')}` as Hex;
  const { specHash: _s, templateHash: _t, ...spec } = EXAMPLE_EVENT_DATA.VaultCreated.template;
  return { ...spec, budgetWei, specHash, templateHash: jobTemplateHash({ specHash, budgetWei, expectedRuntimeSec: spec.expectedRuntimeSec }) };
};

/** Appends a vault command as intake would, then lets the projection see it. */
async function decide(vaultId: string, command: VaultCommand): Promise<void> {
  const { seqs } = await under.service.rt.execute('vault', vaultId, vaultDecider, command, { correlationId: vaultId, causationId: vaultId, actor: `org:${ORG}` });
  if (seqs.length) await under.service.app.get(VaultChainProjection).waitUntil(seqs[seqs.length - 1]);
}

const create = (vaultId: string, depositWei: bigint): VaultCommand => ({
  type: 'CreateVault',
  vaultId,
  orgId: ORG,
  ownerAddress: owner,
  depositWei,
  capPerPeriodWei: 20n * AGPU,
  periodSec: 3600,
  template: templateOf(10n * AGPU, 'first'),
  triggers: [{ triggerId: 'hook', kind: 'url' }],
  atMs: Date.now(),
});

beforeAll(async () => {
  const slot = await under.service.bus.send(COMMANDS.deployer.allocateAccount, { orgId: ORG });
  owner = slot.accountAddress as Address;
  await mintAgpu(chain().clients.wallet(chain().roles.minter), chain().clients.publicClient, { token: chain().addresses.token, to: owner, amountWei: 100n * AGPU });
});

describe('vault-chain (the vault reconciler)', () => {
  it('opens the vault with its deposit, then follows the template, pause, resume and close, each recorded once', async () => {
    await decide('vault-sync-1', create('vault-sync-1', 40n * AGPU));
    const before = await balanceOf(owner);
    expect(await reconciler().round()).toBe(1);
    const opened = await onChain('vault-sync-1');
    expect(opened).toMatchObject({ exists: true, status: 'active', owner, balanceWei: 40n * AGPU, capPerPeriodWei: 20n * AGPU, periodSec: 3600, templateHash: templateOf(10n * AGPU, 'first').templateHash });
    expect(await balanceOf(owner)).toBe(before - 40n * AGPU);
    // a second round (a restart, another replica) finds nothing to do and records nothing
    expect(await reconciler().round()).toBe(0);
    expect((await vaultEvents('vault-sync-1')).map((e) => e.type)).toEqual(['VaultCreated', 'VaultChainSynced']);

    const next = templateOf(5n * AGPU, 'second');
    await decide('vault-sync-1', { type: 'EditVaultTemplate', orgId: ORG, template: next });
    await decide('vault-sync-1', { type: 'PauseVault', orgId: ORG });
    await reconciler().round();
    expect(await onChain('vault-sync-1')).toMatchObject({ status: 'paused', templateHash: next.templateHash });

    await decide('vault-sync-1', { type: 'ResumeVault', orgId: ORG });
    await decide('vault-sync-1', { type: 'CloseVault', orgId: ORG });
    await reconciler().round();
    expect(await onChain('vault-sync-1')).toMatchObject({ status: 'closed', balanceWei: 0n });
    // the remainder is back with the owner: nothing was created or lost
    expect(await balanceOf(owner)).toBe(before);
    const synced = (await vaultEvents('vault-sync-1')).filter((e): e is TradeEvent<'VaultChainSynced'> => e.type === 'VaultChainSynced').map((e) => [e.data.action, e.data.status]);
    expect(synced).toEqual([['open', 'active'], ['template', 'active'], ['pause', 'paused'], ['close', 'closed']]);
    expect((await vaultEvents('vault-sync-1')).find((e): e is TradeEvent<'VaultChainSynced'> => e.type === 'VaultChainSynced' && e.data.action === 'close')?.data.remainderWei).toBe(40n * AGPU);
    expect(await reconciler().round()).toBe(0);
  });

  it('records VaultOpenFailed when the deposit is not covered, and the vault then never fires', async () => {
    await decide('vault-sync-2', create('vault-sync-2', 10_000n * AGPU));
    await reconciler().round();
    expect((await onChain('vault-sync-2')).exists).toBe(false);
    const failed = (await vaultEvents('vault-sync-2')).find((e): e is TradeEvent<'VaultOpenFailed'> => e.type === 'VaultOpenFailed');
    expect(failed?.data.code).toEqual(expect.stringMatching(/InsufficientBalance|PermitFailed/));
    await expect(decide('vault-sync-2', { type: 'FireVault', triggerId: 'hook', slot: 'k', slotAtMs: Date.now() })).rejects.toMatchObject({ code: 'VAULT_OPEN_FAILED' });
    expect(await reconciler().round()).toBe(0);
  });
});
