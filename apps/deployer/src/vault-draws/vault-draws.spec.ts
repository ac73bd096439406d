import type { Address, Hex } from 'viem';
import { agpuBalance, jobTemplateHash, readComputeContract, readVault } from '@starminer/chain';
import { vaultDecider, type VaultCommand, type VaultTemplate } from '@starminer/domain';
import { COMMANDS, EXAMPLE_EVENT_DATA, type EventData, type TradeEvent } from '@starminer/events';
import { appendDrafts, eventually, serviceUnderTest } from '@starminer/service-testing';
import { DeployerModule } from '../deployer.module';
import { PendingOpensProjection } from '../reconcile-opens/pending-opens.projection';
import { ReconcileOpensService } from '../reconcile-opens/reconcile-opens.service';
import { VaultChainProjection } from '../vault-chain/vault-chain.projection';
import { VaultChainReconciler } from '../vault-chain/vault-chain.reconciler';
import { VAULT_DRAWS_DURABLE } from './vault-draws.consumer';

/**
 * A vault's matched job is drawn from its vault on chain and recorded as ContractOpened like any
 * open: the vault's balance falls by the cost, the org's account is untouched, the normal open
 * path never charges it; a draw the vault refuses (over the period's cap, another template) is
 * ContractOpenFailed with the chain's code and draws nothing. On real NATS, Postgres and anvil
 * (the background rounds are slowed so the spec drives them).
 */
const AGPU = 10n ** 18n;
const ORG = 'org-vault-draws';
const VAULT = 'vault-draws-1';
const PROVIDER = `0x${'5f'.repeat(20)}` as Address;

const under = serviceUnderTest(DeployerModule, { chain: true, env: { DEPLOYER_OPEN_RECONCILE_MS: '3600000' } });
let owner: Address;

const chain = () => under.infra.chain!;
const balanceOf = (a: Address) => agpuBalance(chain().clients.publicClient, { token: chain().addresses.token, account: a });
const vaultBalance = async (vaultId = VAULT) => (await readVault(chain().clients.publicClient, { addresses: chain().addresses, vaultId })).balanceWei;
const contractEvents = async (jobId: string): Promise<TradeEvent[]> => (await under.infra.log.readSubject(`trade.contract.${jobId}`)).events.map((e) => e.event as TradeEvent);

const specHash = `0x${'7a'.repeat(32)}` as Hex;
const { specHash: _s, templateHash: _t, ...spec } = EXAMPLE_EVENT_DATA.VaultCreated.template;
const template: VaultTemplate = { ...spec, budgetWei: 5n * AGPU, specHash, templateHash: jobTemplateHash({ specHash, budgetWei: 5n * AGPU, expectedRuntimeSec: spec.expectedRuntimeSec }) };

/** A vault job as intake submits it on VaultFired, and its match. */
const vaultJob = (
  jobId: string,
  costWei: bigint,
  jobSpecHash: Hex = specHash,
  vaultId = VAULT,
): [{ type: 'JobSubmitted'; data: EventData<'JobSubmitted'> }, { type: 'JobMatched'; data: EventData<'JobMatched'> }] => [
  {
    type: 'JobSubmitted',
    data: { jobId, orgId: ORG, requesterAddress: owner, ...spec, budgetWei: template.budgetWei, vault: { vaultId, firingId: `vf_${jobId}`, specHash: jobSpecHash } },
  },
  { type: 'JobMatched', data: { ...EXAMPLE_EVENT_DATA.JobMatched, jobId, nodeAddress: PROVIDER, costWei, quote: { costWei: costWei.toString() }, receipt: { jobId } } },
];

beforeAll(async () => {
  const slot = await under.service.bus.send(COMMANDS.deployer.allocateAccount, { orgId: ORG });
  owner = slot.accountAddress as Address;
  await appendDrafts(under.infra.log, 'account', ORG, [{ type: 'OrgRegistered', data: { orgId: ORG, name: ORG, accountAddress: owner, custodyIndex: slot.custodyIndex } }]);
  await under.service.bus.send(COMMANDS.deployer.mint, { orgId: ORG, amountWei: 50n * AGPU, requestId: 'vault-draws-funds' });
  await eventually(async () => (await balanceOf(owner)) === 50n * AGPU, 15_000);
  await createVault(VAULT);
  expect(await under.service.app.get(VaultChainReconciler).round()).toBe(1);
  expect(await vaultBalance()).toBe(20n * AGPU);
}, 120_000);

async function createVault(vaultId: string): Promise<void> {
  const create: VaultCommand = {
    type: 'CreateVault',
    vaultId,
    orgId: ORG,
    ownerAddress: owner,
    depositWei: 20n * AGPU,
    capPerPeriodWei: 8n * AGPU,
    periodSec: 3600,
    template,
    triggers: [{ triggerId: 'hook', kind: 'url' }],
    atMs: Date.now(),
  };
  const { seqs } = await under.service.rt.execute('vault', vaultId, vaultDecider, create, { correlationId: vaultId, causationId: vaultId, actor: `org:${ORG}` });
  await under.service.app.get(VaultChainProjection).waitUntil(seqs[0]);
}

describe('vault-draws', () => {
  it("draws a matched vault job's escrow from the vault, records it opened once, and never charges the org's account", async () => {
    const ownerBefore = await balanceOf(owner);
    const escrowBefore = await balanceOf(chain().addresses.escrow);
    await appendDrafts(under.infra.log, 'job', 'vj-draw-1', vaultJob('vj-draw-1', 4n * AGPU));
    await eventually(async () => (await contractEvents('vj-draw-1')).length > 0, 15_000);
    const [opened] = await contractEvents('vj-draw-1');
    expect(opened).toMatchObject({ type: 'ContractOpened', actor: 'service:deployer', data: { jobId: 'vj-draw-1', requesterAddress: owner, nodeAddress: PROVIDER, escrowWei: 4n * AGPU } });
    expect((opened as TradeEvent<'ContractOpened'>).data.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    const onChain = await readComputeContract(chain().clients.publicClient, { addresses: chain().addresses, jobId: 'vj-draw-1' });
    expect(onChain).toMatchObject({ status: 'open', costWei: 4n * AGPU, openTxHash: (opened as TradeEvent<'ContractOpened'>).data.txHash });
    expect(await vaultBalance()).toBe(16n * AGPU);
    expect(await balanceOf(chain().addresses.escrow)).toBe(escrowBefore + 4n * AGPU);
    expect(await balanceOf(owner)).toBe(ownerBefore);

    // the reconciler's round (a restart, a redelivery) draws nothing more and records nothing more
    await under.service.app.get(ReconcileOpensService).reconcileOnce();
    expect(await contractEvents('vj-draw-1')).toHaveLength(1);
    expect(await vaultBalance()).toBe(16n * AGPU);
    expect(await balanceOf(owner)).toBe(ownerBefore);
  }, 60_000);

  it('records ContractOpenFailed with the chain code when the draw would pass the cap, or names another template, and draws nothing', async () => {
    const ownerBefore = await balanceOf(owner);
    // 4 AGPU of the 8 AGPU cap are spent this period: 5 more pass it
    await appendDrafts(under.infra.log, 'job', 'vj-draw-cap', vaultJob('vj-draw-cap', 5n * AGPU));
    await appendDrafts(under.infra.log, 'job', 'vj-draw-other', vaultJob('vj-draw-other', 1n * AGPU, `0x${'7b'.repeat(32)}`));
    await eventually(async () => (await contractEvents('vj-draw-cap')).length > 0 && (await contractEvents('vj-draw-other')).length > 0, 15_000);
    expect(await contractEvents('vj-draw-cap')).toMatchObject([{ type: 'ContractOpenFailed', data: { code: 'CapExceeded' } }]);
    expect(await contractEvents('vj-draw-other')).toMatchObject([{ type: 'ContractOpenFailed', data: { code: 'TemplateNotAllowed' } }]);
    expect(await vaultBalance()).toBe(16n * AGPU);
    expect(await balanceOf(owner)).toBe(ownerBefore);
    expect(under.service.rt.reader(VAULT_DRAWS_DURABLE)?.health().state).not.toBe('failed');
  }, 60_000);

  it('leaves a draw the chain cannot take yet (the vault not open on chain) to the reconciler, which draws it once the vault is open', async () => {
    await createVault('vault-draws-2');
    const [, matchSeq] = await appendDrafts(under.infra.log, 'job', 'vj-draw-late', vaultJob('vj-draw-late', 2n * AGPU, specHash, 'vault-draws-2'));
    await under.service.app.get(PendingOpensProjection).waitUntil(matchSeq);
    await eventually(() => (under.service.rt.reader(VAULT_DRAWS_DURABLE)?.health().position ?? 0) >= matchSeq, 15_000);
    // UnknownVault: not a refusal, so nothing is recorded yet
    expect(await contractEvents('vj-draw-late')).toEqual([]);
    expect(await under.service.app.get(VaultChainReconciler).round()).toBe(1);
    await under.service.app.get(ReconcileOpensService).reconcileOnce(Date.now() + 1_000);
    expect(await contractEvents('vj-draw-late')).toMatchObject([{ type: 'ContractOpened', data: { escrowWei: 2n * AGPU } }]);
    expect(await vaultBalance('vault-draws-2')).toBe(18n * AGPU);
  }, 60_000);
});
