import type { Address, Hex } from 'viem';
import { agpuBalance, readComputeContract } from '@starminer/chain';
import { COMMANDS, EXAMPLE_EVENT_DATA, type EventData } from '@starminer/events';
import { appendDrafts, eventually, startService, startTestInfra, type ServiceUnderTest, type TestInfra } from '@starminer/service-testing';
import { DeployerModule } from '../deployer.module';
import { OPEN_CONTRACTS_DURABLE } from '../open-contracts/open-contracts.consumer';
import { OPEN_TIMED_OUT, PendingOpensProjection } from './pending-opens.projection';
import { ReconcileOpensService } from './reconcile-opens.service';

const AGPU = 10n ** 18n;
const PROVIDER = `0x${'6e'.repeat(20)}`;
const ORG = 'org-reconcile-opens';
/** The give-up deadline as deployed (10 minutes): the spec moves the reconciler's clock past it rather than waiting. */
const GIVE_UP_MS = 600_000;
let infra: TestInfra;
let deployer: ServiceUnderTest;
let reconciler: ReconcileOpensService;
let account: Address;

beforeAll(async () => {
  infra = await startTestInfra({ chain: true });
  // the spec drives the reconciler's rounds (and its clock) itself: its own ticker would come after an hour
  deployer = await startService(DeployerModule, infra, { DEPLOYER_OPEN_GIVE_UP_MS: String(GIVE_UP_MS), DEPLOYER_OPEN_RECONCILE_MS: String(3600_000), ANCHOR_INTERVAL_MS: String(24 * 3600_000) });
  reconciler = deployer.app.get(ReconcileOpensService);
  const slot = await deployer.bus.send(COMMANDS.deployer.allocateAccount, { orgId: ORG });
  account = slot.accountAddress as Address;
  await appendDrafts(infra.log, 'account', ORG, [{ type: 'OrgRegistered', data: { orgId: ORG, name: ORG, accountAddress: slot.accountAddress, custodyIndex: slot.custodyIndex } }]);
  await deployer.bus.send(COMMANDS.deployer.mint, { orgId: ORG, amountWei: 100n * AGPU, requestId: 'reconcile-opens-funds' });
}, 120_000);

afterAll(async () => {
  await deployer?.stop();
  await infra?.stop();
});

const chain = () => ({ publicClient: infra.chain!.clients.publicClient, addresses: infra.chain!.addresses });
const anvil = (method: string, params: unknown[] = []) => chain().publicClient.request({ method, params } as never) as Promise<unknown>;
const deployerAddress = () => infra.chain!.roles.deployer.address;
/** A realistic fault that no retry of the open cures by itself: the deployer key has no ether left for gas. */
const drainDeployerGas = async (): Promise<Hex> => {
  const before = (await chain().publicClient.getBalance({ address: deployerAddress() })).toString(16);
  await anvil('anvil_setBalance', [deployerAddress(), '0x0']);
  return `0x${before}`;
};
const refillDeployerGas = (balance: Hex) => anvil('anvil_setBalance', [deployerAddress(), balance]);
const onChain = (jobId: string) => readComputeContract(chain().publicClient, { addresses: chain().addresses, jobId });
const contractEvents = async (jobId: string) => (await infra.log.readSubject(`trade.contract.${jobId}`)).events.map((e) => e.event);
const consumerPast = (seq: number) => eventually(() => deployer.rt.reader(OPEN_CONTRACTS_DURABLE)!.health().position >= seq, 15_000);
const parked = async () => (await deployer.bus.send(COMMANDS.deployer.listParked, {})).parked;

/** JobSubmitted then JobMatched for a job of the funded org; resolves once the deployer's read model has the match. */
async function match(jobId: string, costWei = AGPU): Promise<number> {
  const [, seq] = await appendDrafts(infra.log, 'job', jobId, [
    { type: 'JobSubmitted', data: { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId, orgId: ORG, requesterAddress: account } },
    { type: 'JobMatched', data: { ...EXAMPLE_EVENT_DATA.JobMatched, jobId, nodeAddress: PROVIDER, costWei, quote: { costWei: costWei.toString() }, receipt: { jobId } } },
  ]);
  await deployer.app.get(PendingOpensProjection).waitUntil(seq);
  return seq;
}

describe('opens the consumer could not finish (reconcile-opens)', () => {
  it('given the open of one job failing, then the consumer neither parks nor blocks on it, the next job opens, and the reconciler opens the first once the fault is gone', async () => {
    const gas = await drainDeployerGas();
    let refilled = false;
    try {
      const failingSeq = await match('job-rec-stuck');
      await consumerPast(failingSeq);
      expect(await contractEvents('job-rec-stuck')).toEqual([]);
      expect((await parked()).filter((p) => p.key === 'job-rec-stuck')).toEqual([]);
      expect(deployer.rt.reader(OPEN_CONTRACTS_DURABLE)!.health().state).toBe('running');
      // a round while the fault lasts tries again, and records nothing
      expect(await reconciler.reconcileOnce()).toMatchObject({ retried: 1, opened: 0, timedOut: 0 });
      expect(await contractEvents('job-rec-stuck')).toEqual([]);

      await refillDeployerGas(gas);
      refilled = true;
      await match('job-rec-next');
      await eventually(async () => (await contractEvents('job-rec-next')).some((e) => e.type === 'ContractOpened'), 15_000);
      // the first open's backoff has passed: the next round opens it
      await reconciler.reconcileOnce(Date.now() + 60_000);
      const [opened, ...more] = await contractEvents('job-rec-stuck');
      expect(more).toEqual([]);
      expect(opened).toMatchObject({ type: 'ContractOpened', actor: 'service:deployer', data: { jobId: 'job-rec-stuck', txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/) } });
      expect((await onChain('job-rec-stuck')).status).toBe('open');
    } finally {
      if (!refilled) await refillDeployerGas(gas);
    }
  });

  it('given an open failing for 10 minutes, then it is given up from the chain: ContractOpenFailed OPEN_TIMED_OUT (GPUs and budget freed by its readers), nothing escrowed, once', async () => {
    const gas = await drainDeployerGas();
    try {
      const balanceBefore = await agpuBalance(chain().publicClient, { token: chain().addresses.token, account });
      const t0 = Date.now();
      await consumerPast(await match('job-rec-timeout'));
      // retried with backoff for the whole window, the fault lasting
      expect((await reconciler.reconcileOnce(t0 + 60_000)).retried).toBe(1);
      expect((await reconciler.reconcileOnce(t0 + 300_000)).retried).toBe(1);
      expect(await contractEvents('job-rec-timeout')).toEqual([]);
      // 10 minutes after the match: the chain is read (no deployer transaction in flight) and the open given up
      expect(await reconciler.reconcileOnce(t0 + GIVE_UP_MS + 1_000)).toMatchObject({ timedOut: 1 });
      const [failed, ...more] = await contractEvents('job-rec-timeout');
      expect(more).toEqual([]);
      expect(failed).toMatchObject({ type: 'ContractOpenFailed', actor: 'service:deployer', data: { jobId: 'job-rec-timeout', code: OPEN_TIMED_OUT } });
      expect((failed.data as EventData<'ContractOpenFailed'>).reason).toMatch(/no contract on chain/);
      expect((await onChain('job-rec-timeout')).status).toBe('none');
      expect(await agpuBalance(chain().publicClient, { token: chain().addresses.token, account })).toBe(balanceBefore);
      // once: the row is closed, a later round records nothing more
      await deployer.app.get(PendingOpensProjection).waitUntil(await infra.log.lastSeq());
      await reconciler.reconcileOnce(t0 + 2 * GIVE_UP_MS);
      expect(await contractEvents('job-rec-timeout')).toHaveLength(1);
    } finally {
      await refillDeployerGas(gas);
    }
    // and with gas back the consumer would not open it: its contract is recorded failed
    expect((await onChain('job-rec-timeout')).status).toBe('none');
  });
});

describe('recorded opens compared with the chain', () => {
  it('given a chain rolled back under a recorded open, then the next round notices the rewind, opens it again on the same terms and records ChainEffectRestored, once', async () => {
    const snapshot = await anvil('evm_snapshot');
    await match('job-rec-rollback', 2n * AGPU);
    await eventually(async () => (await contractEvents('job-rec-rollback')).some((e) => e.type === 'ContractOpened'), 15_000);
    const [opened] = await contractEvents('job-rec-rollback');
    const recordedTx = (opened.data as EventData<'ContractOpened'>).txHash;
    await deployer.app.get(PendingOpensProjection).waitUntil(await infra.log.lastSeq());
    // checked while the chain holds it: nothing to record
    expect((await reconciler.reconcileOnce()).restored).toBe(0);

    await anvil('evm_revert', [snapshot]);
    expect((await onChain('job-rec-rollback')).status).toBe('none');

    expect((await reconciler.reconcileOnce()).restored).toBe(1);
    const events = await contractEvents('job-rec-rollback');
    expect(events.map((e) => e.type)).toEqual(['ContractOpened', 'ChainEffectRestored']);
    const restored = events[1].data as EventData<'ChainEffectRestored'>;
    expect(restored).toMatchObject({ jobId: 'job-rec-rollback', action: 'open', previousTxHash: recordedTx, txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
    const now = await onChain('job-rec-rollback');
    expect(now).toMatchObject({ status: 'open', costWei: 2n * AGPU, requester: account, termsHash: (opened.data as EventData<'ContractOpened'>).termsHash, openTxHash: restored.txHash });

    // the restored open is held: further rounds record nothing
    await deployer.app.get(PendingOpensProjection).waitUntil(await infra.log.lastSeq());
    await reconciler.reconcileOnce();
    await reconciler.reconcileOnce();
    expect(await contractEvents('job-rec-rollback')).toHaveLength(2);
  });
});
