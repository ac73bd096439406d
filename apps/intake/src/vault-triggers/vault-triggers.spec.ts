import { mintAgpu } from '@starminer/chain';
import { DEFAULT_ENGINE_CONFIG } from '@starminer/matching';
import { cronSlotOf, vaultFiringId } from '@starminer/domain';
import { COMMANDS, type PayloadOf, type TradeEvent, type TradeEventOf } from '@starminer/events';
import { appendDrafts, eventually, startService, startTestInfra, type ServiceUnderTest, type TestInfra } from '@starminer/service-testing';
import { IntakeModule } from '../intake.module';
import { intakeJobSpec } from '../testing/job-spec';
import { CronTriggersTicker } from './cron-triggers.ticker';
import { IntakeVaultsProjection } from './intake-vaults.projection';
import { ServiceRuntime } from '@starminer/service-kit';
import { IntakeVaultPriceTrigger } from './intake-vault.entity';
import { PriceTriggersConsumer, tierPriceWeiPerGpuHour } from './price-triggers.consumer';

/**
 * Vault triggers fire from the log exactly once per slot, across restarts and replicas: intake's
 * clock is driven by the spec (each tick is given its time), two replicas tick the same times, one
 * is restarted mid-period, and every slot is decided once. On real NATS and Postgres.
 */
const AGPU = 10n ** 18n;
const MIN = 60_000;
const ORG = 'org-vault-triggers';
const ACCOUNT = `0x${'4d'.repeat(20)}`;
/** The background ticks never run during the spec: it drives them with its own clock. */
const ENV = { INTAKE_VAULT_TICK_MS: '600000' };

let infra: TestInfra;
let replicas: ServiceUnderTest[] = [];

type Create = PayloadOf<typeof COMMANDS.intake.createVault>;
const create = async (vaultId: string, over: Partial<Create>): Promise<number> => {
  const { seq } = await replicas[0].bus.send(COMMANDS.intake.createVault, {
    orgId: ORG,
    vaultId,
    requestId: `req-${vaultId}`,
    depositWei: 100n * AGPU,
    capPerPeriodWei: 20n * AGPU,
    periodSec: 1800,
    template: intakeJobSpec({ budgetWei: 10n * AGPU }),
    triggers: [{ triggerId: 'every10', kind: 'cron', expression: '*/10 * * * *', timeZone: 'UTC' }],
    ...over,
  });
  for (const r of replicas) await r.app.get(IntakeVaultsProjection).waitUntil(seq);
  return seq;
};
const eventsOf = async (vaultId: string): Promise<TradeEvent[]> => (await infra.log.readSubject(`trade.vault.${vaultId}`)).events.map((e) => e.event as TradeEvent);
const anchorOf = async (vaultId: string): Promise<number> => ((await eventsOf(vaultId))[0] as TradeEventOf<'VaultCreated'>).data.periodAnchorMs;
/** The slots decided, in log order: [slot, outcome or code]. */
const decided = async (vaultId: string): Promise<[string, string][]> =>
  (await eventsOf(vaultId)).flatMap((e): [string, string][] =>
    e.type === 'VaultFired' ? [[e.data.slot, 'fired']] : e.type === 'VaultFiringSkipped' ? [[e.data.slot, e.data.code]] : [],
  );
/** The first 10-minute slot after `atMs`. */
const nextSlot = (atMs: number): number => (Math.floor(atMs / (10 * MIN)) + 1) * 10 * MIN;
const tickAll = async (nowMs: number): Promise<void> => {
  // every replica ticks the same time: each slot is still decided once
  await Promise.all(replicas.map((r) => r.app.get(CronTriggersTicker).tick(nowMs)));
};

beforeAll(async () => {
  infra = await startTestInfra({ chain: true });
  replicas = [await startService(IntakeModule, infra, ENV), await startService(IntakeModule, infra, ENV)];
  await appendDrafts(infra.log, 'account', ORG, [{ type: 'OrgRegistered', data: { orgId: ORG, name: ORG, accountAddress: ACCOUNT, custodyIndex: 1 } }]);
  // the vaults' deposits are reserved on the org's account
  const chain = infra.chain!;
  await mintAgpu(chain.clients.wallet(chain.roles.minter), chain.clients.publicClient, { token: chain.addresses.token, to: ACCOUNT as `0x${string}`, amountWei: 100_000n * AGPU });
}, 120_000);

afterAll(async () => {
  for (const r of replicas) await r.stop();
  await infra?.stop();
});

describe('cron triggers', () => {
  it('fires each slot of three periods once, across two replicas and a restart mid-period; the cap refuses the third job of each period', async () => {
    await create('vault-cron-1', {});
    const anchor = await anchorOf('vault-cron-1');
    const first = nextSlot(anchor);
    // nine slots, ten minutes apart: three periods of 30 minutes (from the anchor) hold three each
    const slots = Array.from({ length: 9 }, (_, i) => first + i * 10 * MIN);
    for (const [i, slot] of slots.entries()) {
      if (i === 4) {
        // intake restarts mid-period: one replica stops, a new one starts on the same log and database
        await replicas[1].stop();
        replicas[1] = await startService(IntakeModule, infra, ENV);
      }
      await tickAll(slot + 1_000);
      await tickAll(slot + 2_000);
    }
    const periodOf = (atMs: number) => Math.floor((atMs - anchor) / (1800 * 1000));
    const expected: [string, string][] = [];
    const firedPerPeriod = new Map<number, number>();
    for (const slot of slots) {
      const n = firedPerPeriod.get(periodOf(slot)) ?? 0;
      expected.push([cronSlotOf(slot), n < 2 ? 'fired' : 'VAULT_CAP_EXCEEDED']);
      firedPerPeriod.set(periodOf(slot), n + 1);
    }
    expect(await decided('vault-cron-1')).toEqual(expected);
    // three periods: exactly two jobs fired in each, never a slot twice
    expect(expected.filter(([, o]) => o === 'fired')).toHaveLength(6);
    const ids = (await eventsOf('vault-cron-1')).flatMap((e) => (e.type === 'VaultFired' || e.type === 'VaultFiringSkipped' ? [e.data.firingId] : []));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('after downtime, fires the latest missed slot once and records the older ones as missed (once); a paused vault skips its slots', async () => {
    await create('vault-cron-2', { capPerPeriodWei: 100n * AGPU, depositWei: 1000n * AGPU });
    const anchor = await anchorOf('vault-cron-2');
    const first = nextSlot(anchor);
    await tickAll(first + 1_000);
    // intake is down for three more slots and comes back between the fourth and the fifth
    await tickAll(first + 35 * MIN);
    expect(await decided('vault-cron-2')).toEqual([
      [cronSlotOf(first), 'fired'],
      // the missed slots are one streak: recorded once, at its first
      [cronSlotOf(first + 10 * MIN), 'SLOT_MISSED'],
      [cronSlotOf(first + 30 * MIN), 'fired'],
    ]);
    await replicas[0].bus.send(COMMANDS.intake.changeVault, { orgId: ORG, vaultId: 'vault-cron-2', change: { type: 'pause' } });
    await tickAll(first + 41 * MIN);
    await replicas[0].bus.send(COMMANDS.intake.changeVault, { orgId: ORG, vaultId: 'vault-cron-2', change: { type: 'resume' } });
    await tickAll(first + 42 * MIN);
    await tickAll(first + 51 * MIN);
    expect((await decided('vault-cron-2')).slice(3)).toEqual([
      [cronSlotOf(first + 40 * MIN), 'VAULT_PAUSED'],
      [cronSlotOf(first + 50 * MIN), 'fired'],
    ]);
  });

  it('records a refusal streak once, not once a slot: a long pause adds one skip, and the resume fires only slots after it', async () => {
    await create('vault-cron-3', { capPerPeriodWei: 100n * AGPU, depositWei: 1000n * AGPU });
    const first = nextSlot(await anchorOf('vault-cron-3'));
    await tickAll(first + 1_000);
    await replicas[0].bus.send(COMMANDS.intake.changeVault, { orgId: ORG, vaultId: 'vault-cron-3', change: { type: 'pause' } });
    // twelve slots pass while paused, each ticked
    for (let k = 1; k <= 12; k += 1) await tickAll(first + k * 10 * MIN + 1_000);
    expect(await decided('vault-cron-3')).toEqual([
      [cronSlotOf(first), 'fired'],
      [cronSlotOf(first + 10 * MIN), 'VAULT_PAUSED'],
    ]);
    await replicas[0].bus.send(COMMANDS.intake.changeVault, { orgId: ORG, vaultId: 'vault-cron-3', change: { type: 'resume' } });
    await tickAll(first + 130 * MIN + 1_000);
    expect((await decided('vault-cron-3')).slice(2)).toEqual([[cronSlotOf(first + 130 * MIN), 'fired']]);
  });
});

describe('price triggers', () => {
  it("fires when the market's tier price crosses under the threshold, once per price change, and not while it stays under", async () => {
    const pricing = DEFAULT_ENGINE_CONFIG.pricing;
    const at = (bps: number) => tierPriceWeiPerGpuHour(pricing, 'H100', 'normal', bps)!;
    // between the price at 0.95x and 1x: a change from 1x to 0.9x crosses it
    const threshold = (at(9_500) + at(10_000)) / 2n;
    await create('vault-price-1', { triggers: [{ triggerId: 'cheap', kind: 'price', gpuModel: 'H100', region: 'eu-west', belowWeiPerHour: threshold }] });
    const change = (previousMultiplierBps: number, multiplierBps: number) =>
      ({ type: 'PriceChanged' as const, data: { gpuClass: 'H100', region: 'eu-west', atMs: Date.now(), previousMultiplierBps, multiplierBps, utilizationBps: 5_000, smoothedUtilizationBps: 5_000 } });
    const [crossing] = await appendDrafts(infra.log, 'market', 'H100', [change(10_000, 9_000)]);
    const outcomes = async () => (await decided('vault-price-1')).map(([, o]) => o).join(',');
    await eventually(async () => (await outcomes()) === 'fired');
    const crossingEvent = (await infra.log.readSubject('trade.market.H100')).events.find((e) => e.seq === crossing)!.event;
    expect((await eventsOf('vault-price-1')).find((e): e is TradeEventOf<'VaultFired'> => e.type === 'VaultFired')?.data.firingId).toBe(vaultFiringId('vault-price-1', 'cheap', crossingEvent.id));
    // staying under, and another market, fire nothing; going back above and under again fires once more
    const later = await appendDrafts(infra.log, 'market', 'H100', [change(9_000, 8_500), { ...change(10_000, 8_000), data: { ...change(10_000, 8_000).data, region: 'us-east' } }, change(8_500, 10_000), change(10_000, 9_000)]);
    await eventually(async () => (await outcomes()) === 'fired,fired');
    expect(await outcomes()).toBe('fired,fired');
    // the second firing is the last change's (back under), not one of the changes that stayed under or were elsewhere
    const lastId = (await infra.log.readSubject('trade.market.H100')).events.find((e) => e.seq === later[later.length - 1])!.event.id;
    const firedIds = (await eventsOf('vault-price-1')).flatMap((e) => (e.type === 'VaultFired' ? [e.data.firingId] : []));
    expect(firedIds[1]).toBe(vaultFiringId('vault-price-1', 'cheap', lastId));
  });

  it('looks at every trigger of the market, a page at a time, and one vault that cannot be read does not keep the change from the others', async () => {
    const pricing = DEFAULT_ENGINE_CONFIG.pricing;
    const threshold = (tierPriceWeiPerGpuHour(pricing, 'A100', 'normal', 9_500)! + tierPriceWeiPerGpuHour(pricing, 'A100', 'normal', 10_000)!) / 2n;
    const trigger = { triggerId: 'cheap', kind: 'price' as const, gpuModel: 'A100', region: 'eu-west', belowWeiPerHour: threshold };
    for (const id of ['vault-pp-b', 'vault-pp-c', 'vault-pp-d']) await create(id, { triggers: [trigger] });
    // a row whose vault cannot be read (its id is no subject token: a damaged read model), first in id order
    await replicas[0].app.get(ServiceRuntime).db.getRepository(IntakeVaultPriceTrigger).save({ vaultId: 'vault-pp-a.damaged', triggerId: 'cheap', gpuModel: 'A100', region: 'eu-west' });
    for (const r of replicas) r.app.get(PriceTriggersConsumer).pageSize = 1;
    await appendDrafts(infra.log, 'market', 'A100', [
      { type: 'PriceChanged', data: { gpuClass: 'A100', region: 'eu-west', atMs: Date.now(), previousMultiplierBps: 10_000, multiplierBps: 9_000, utilizationBps: 5_000, smoothedUtilizationBps: 5_000 } },
    ]);
    for (const id of ['vault-pp-b', 'vault-pp-c', 'vault-pp-d']) await eventually(async () => (await decided(id)).map(([, o]) => o).join(',') === 'fired');
    expect(replicas.reduce((n, r) => n + r.app.get(PriceTriggersConsumer).failedCount, 0)).toBeGreaterThanOrEqual(1);
  });
});
