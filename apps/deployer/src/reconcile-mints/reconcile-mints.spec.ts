import { createTestClient, http, type Address, type Hex } from 'viem';
import { agpuBalance, faucetMintRef, mintAgpuOnce, readMintRef, tokenAbi } from '@starminer/chain';
import { mintDecider } from '@starminer/domain';
import { COMMANDS, type TradeEvent } from '@starminer/events';
import { appendDrafts, countEvents, serviceUnderTest } from '@starminer/service-testing';
import { DeployerModule } from '../deployer.module';
import { FaucetMintRow } from './faucet-mint-row.entity';
import { FaucetMintsProjection } from './faucet-mints.projection';
import { MINT_CHECK_BATCH_MAX, MINT_PENDING_GRACE_MS, MINT_RETRY_BATCH_MAX, ReconcileMintsService, type MintReconcileReport } from './reconcile-mints.service';

const AGPU = 10n ** 18n;
const ORG = 'org-reconcile-1';
/** Rounds a spec runs at most before it gives up waiting for the reconciler. */
const ROUNDS_MAX = 10;

const under = serviceUnderTest(DeployerModule, { chain: true });
let account: Address;

const chain = () => under.infra.chain!;
const subject = `trade.account.${ORG}`;
const reconciler = () => under.service.app.get(ReconcileMintsService);
/** A round late enough that every request is past its grace. */
const roundAfterGrace = () => reconciler().reconcileOnce(Date.now() + MINT_PENDING_GRACE_MS + 1_000);
const balanceOf = (a: Address) => agpuBalance(chain().clients.publicClient, { token: chain().addresses.token, account: a });
const totalSupply = () => chain().clients.publicClient.readContract({ address: chain().addresses.token, abi: tokenAbi(), functionName: 'totalSupply' });
const testClient = () => createTestClient({ mode: 'anvil', chain: chain().clients.chain, transport: http(chain().anvil.rpcUrl) });
const orgEvents = async (): Promise<TradeEvent[]> => (await under.infra.log.readSubject(subject)).events.map((e) => e.event as TradeEvent);
const mint = (amountWei: bigint, requestId: string) => under.service.bus.send(COMMANDS.deployer.mint, { orgId: ORG, amountWei, requestId });

/** The projection has every event of the org so far. */
async function projected(): Promise<void> {
  const { events } = await under.infra.log.readSubject(subject);
  await under.service.app.get(FaucetMintsProjection).waitUntil(events[events.length - 1]!.seq);
}

/** Rounds until `done` holds (bounded), with every round's report. */
async function roundsUntil(done: () => Promise<boolean>): Promise<MintReconcileReport[]> {
  const reports: MintReconcileReport[] = [];
  for (let i = 0; i < ROUNDS_MAX && !(await done()); i += 1) {
    await projected();
    reports.push(await roundAfterGrace());
  }
  expect(await done()).toBe(true);
  return reports;
}

beforeAll(async () => {
  const slot = await under.service.bus.send(COMMANDS.deployer.allocateAccount, { orgId: ORG });
  account = slot.accountAddress as Address;
  await appendDrafts(under.infra.log, 'account', ORG, [{ type: 'OrgRegistered', data: { orgId: ORG, name: 'Reconcile Org', accountAddress: account, custodyIndex: slot.custodyIndex } }]);
});

describe('reconcile-mints (the faucet reconciler)', () => {
  it('given a crash after MintRequested and before any mint, then a round mints it once and records AccountFunded; a retry of the request answers that mint', async () => {
    const requestId = 'crash-before-mint';
    const mintRef = faucetMintRef(ORG, requestId);
    await under.service.rt.execute('account', ORG, mintDecider, { type: 'RequestMint', mintRef, amountWei: 6n * AGPU }, { correlationId: ORG, causationId: requestId, actor: 'service:deployer' });
    const [supply, before] = [await totalSupply(), await balanceOf(account)];
    await projected();

    // within its grace a request is its command's: a round leaves it alone
    expect((await reconciler().reconcileOnce()).finished).toBe(0);
    expect(await balanceOf(account)).toBe(before);

    await roundsUntil(async () => (await orgEvents()).some((e) => e.type === 'AccountFunded' && e.data.mintRef === mintRef));
    const funded = (await orgEvents()).filter((e) => e.type === 'AccountFunded' && e.data.mintRef === mintRef);
    expect(funded).toHaveLength(1);
    expect(funded[0]).toMatchObject({ causationId: requestId, actor: 'service:deployer', data: { amountWei: 6n * AGPU, accountAddress: account } });
    expect(await balanceOf(account)).toBe(before + 6n * AGPU);
    expect(await totalSupply()).toBe(supply + 6n * AGPU);
    expect(await readMintRef(chain().clients.publicClient, { token: chain().addresses.token, mintRef })).toMatchObject({ minted: true, txHash: funded[0]!.type === 'AccountFunded' && funded[0]!.data.txHash });

    // more rounds and the retry: nothing more minted, nothing more appended
    const events = await countEvents(under.infra.log, 'trade.>');
    await projected();
    await roundAfterGrace();
    const again = await mint(6n * AGPU, requestId);
    expect(again.txHash).toBe(funded[0]!.type === 'AccountFunded' ? funded[0]!.data.txHash : undefined);
    expect(await totalSupply()).toBe(supply + 6n * AGPU);
    expect(await countEvents(under.infra.log, 'trade.>')).toBe(events);
    const row = await under.service.rt.db.getRepository(FaucetMintRow).findOneByOrFail({ mintRef: mintRef.toLowerCase() });
    expect(row).toMatchObject({ status: 'funded', requestId, attempts: 0 });
  });

  it('given a crash after the mint transaction and before its record, then a round records that transaction and mints nothing', async () => {
    const requestId = 'crash-after-mint';
    const mintRef = faucetMintRef(ORG, requestId);
    await under.service.rt.execute('account', ORG, mintDecider, { type: 'RequestMint', mintRef, amountWei: 2n * AGPU }, { correlationId: ORG, causationId: requestId, actor: 'service:deployer' });
    const minted = await mintAgpuOnce(chain().clients.wallet(chain().roles.minter), chain().clients.publicClient, { token: chain().addresses.token, to: account, amountWei: 2n * AGPU, mintRef });
    const supply = await totalSupply();

    await roundsUntil(async () => (await orgEvents()).some((e) => e.type === 'AccountFunded' && e.data.mintRef === mintRef));
    const funded = (await orgEvents()).filter((e) => e.type === 'AccountFunded' && e.data.mintRef === mintRef);
    expect(funded).toHaveLength(1);
    expect(funded[0]).toMatchObject({ data: { txHash: minted.txHash, amountWei: 2n * AGPU } });
    expect(await totalSupply()).toBe(supply);
  });

  it.each([
    ['its head below the mint', 0],
    ['as many blocks again, but other ones (the hash of the mint block changed)', 3],
  ])('given a recorded mint and a chain rolled back under it (%s), then a round mints it again once and records MintRestored', async (_how, blocksAfterRevert) => {
    const requestId = `rolled-back-${blocksAfterRevert}`;
    const mintRef = faucetMintRef(ORG, requestId);
    // every recorded mint checked so far: the reconciler knows the highest block it found one in
    await projected();
    await roundsUntil(async () => (await roundAfterGrace()).caughtUp);
    const snapshot = await testClient().snapshot();
    const [supply, before] = [await totalSupply(), await balanceOf(account)];

    const first = await mint(8n * AGPU, requestId);
    await projected();
    const checked = await roundAfterGrace();
    expect(checked).toMatchObject({ rewound: false, restored: 0 });

    // the chain goes back to before the mint (anvil restored from an older state, a reorganisation)
    expect(await testClient().revert({ id: snapshot })).toBeUndefined();
    if (blocksAfterRevert > 0) await testClient().mine({ blocks: blocksAfterRevert + 1 });
    expect(await balanceOf(account)).toBe(before);
    expect(await readMintRef(chain().clients.publicClient, { token: chain().addresses.token, mintRef })).toEqual({ minted: false });

    const reports = await roundsUntil(async () => (await orgEvents()).some((e) => e.type === 'MintRestored' && e.data.mintRef === mintRef));
    expect(reports.some((r) => r.rewound)).toBe(true);
    const restored = (await orgEvents()).filter((e) => e.type === 'MintRestored' && e.data.mintRef === mintRef);
    expect(restored).toHaveLength(1);
    expect(restored[0]).toMatchObject({ causationId: requestId, data: { orgId: ORG, mintRef, amountWei: 8n * AGPU, previousTxHash: first.txHash } });
    const txHash = restored[0]!.type === 'MintRestored' ? (restored[0]!.data.txHash as Hex) : undefined;
    expect(txHash).not.toBe(first.txHash);
    expect((await chain().clients.publicClient.getTransactionReceipt({ hash: txHash! })).status).toBe('success');
    // once: the account and the supply hold the mint once, and the earlier mints are untouched
    expect(await balanceOf(account)).toBe(before + 8n * AGPU);
    expect(await totalSupply()).toBe(supply + 8n * AGPU);

    // the full re-check runs to its end, and more rounds do nothing more
    await projected();
    await roundsUntil(async () => (await roundAfterGrace()).caughtUp);
    const events = await countEvents(under.infra.log, 'trade.>');
    await projected();
    expect(await roundAfterGrace()).toMatchObject({ rewound: false, restored: 0, failed: 0 });
    expect(await countEvents(under.infra.log, 'trade.>')).toBe(events);
    expect(await totalSupply()).toBe(supply + 8n * AGPU);
    // and a retry of the request answers the mint the chain holds
    expect((await mint(8n * AGPU, requestId)).txHash).toBe(txHash);
  });

  it('given more recorded mints lost than a round checks, then rounds restore them a bounded page at a time, each once', async () => {
    const lost = MINT_CHECK_BATCH_MAX + 5;
    // no timed rounds in this test, so that each page below is one of ours
    await reconciler().onModuleDestroy();
    try {
      await projected();
      await roundsUntil(async () => (await roundAfterGrace()).caughtUp);
      const snapshot = await testClient().snapshot();
      const [supply, before] = [await totalSupply(), await balanceOf(account)];
      for (let i = 0; i < lost; i += 1) await mint(AGPU, `paged-${i}`);
      await projected();
      await roundsUntil(async () => (await roundAfterGrace()).caughtUp);
      await testClient().revert({ id: snapshot });
      expect(await balanceOf(account)).toBe(before);

      const restoredOfPaged = async () => (await orgEvents()).filter((e) => e.type === 'MintRestored' && e.causationId.startsWith('paged-')).length;
      const reports = await roundsUntil(async () => (await restoredOfPaged()) === lost);
      expect(reports[0]).toMatchObject({ rewound: true, checked: MINT_CHECK_BATCH_MAX, caughtUp: false });
      for (const r of reports) expect(r.checked).toBeLessThanOrEqual(MINT_CHECK_BATCH_MAX + MINT_RETRY_BATCH_MAX);
      expect(reports.reduce((n, r) => n + r.restored, 0)).toBe(lost);
      expect(await balanceOf(account)).toBe(before + BigInt(lost) * AGPU);
      expect(await totalSupply()).toBe(supply + BigInt(lost) * AGPU);
      await projected();
      await roundsUntil(async () => (await roundAfterGrace()).caughtUp);
      expect(await restoredOfPaged()).toBe(lost);
    } finally {
      reconciler().onApplicationBootstrap();
    }
  }, 120_000);
});
