import { isDeepStrictEqual } from 'node:util';
import { DataSource, type EntityManager } from 'typeorm';
import { AGGREGATE_OF, encodeEvent, EVENT_TYPES, EXAMPLE_EVENT_DATA, TOP_UP_ID_PREFIX, type EventData, type EventType } from '@starminer/events';
import type { ReadModel } from '@starminer/service-kit';
import { createTestDatabase, seededRandom, type TestDatabase } from '@starminer/testing';
import type { StoredEvent } from '@starminer/trade-log';
import { storedStream, viewsEvents, type PendingEvent } from '../../../apps/gateway/src/views/views-stream.testing';
import { OPEN_TIMED_OUT } from '../../../apps/deployer/src/reconcile-opens/pending-opens.projection';
import { SERVICE_READ_MODELS, type ServiceReadModels } from './read-models';

/**
 * The safety net of `ReadModel.types` (a projection skips the events of other types without
 * applying them): every read model that declares it is projected twice from the same streams into
 * fresh schemas, once with every event of its kinds (as the auditor's replay and a projection
 * without `types` apply them) and once with only the events of its types, each in the runner's
 * batches (a batch's relevant events in one transaction, a batch without any skipped). The tables
 * must be identical, row for row. A type that can change a row but is missing from `types` (a
 * `default:` branch, a helper, a type added to the catalogue later) makes them differ.
 *
 * Streams: a market's log (the views generator's jobs, contracts, nodes, orgs and prices, with
 * mints, reservations, top-ups, re-matches, timed-out and restored opens, and vault lifecycles
 * interleaved), and the catalogue's example of every type of the model's kinds, all on the same
 * ids, in several orders (so each type meets rows it could change).
 */

const D = EXAMPLE_EVENT_DATA;
const AGPU = 10n ** 18n;
/** The runner's batches, smaller than BATCH_MAX_DEFAULT so that a stream gives batches with and without relevant events. */
const BATCH = 13;
const JOBS = 90;
const VAULTS = 6;

const ev = <T extends EventType>(type: T, data: EventData<T>): PendingEvent => ({ type, data: data as EventData<EventType> });
const hex = (n: number, bytes: number): string => `0x${n.toString(16).padStart(bytes * 2, '0').slice(-bytes * 2)}`;

/** The account, re-match, top-up, open and vault lives the views generator does not write, for its jobs `job-1..jobs` and orgs `org-1..orgs`. */
function extraLives(jobs: number, orgs: number, random: () => number): PendingEvent[][] {
  const lives: PendingEvent[][] = [];
  for (let o = 1; o <= orgs; o += 1) {
    const orgId = `org-${o}`;
    const accountAddress = hex(0x1000 + o - 1, 20);
    const mintRef = hex(0xf000 + o, 32);
    lives.push([
      ev('MintRequested', { orgId, accountAddress, amountWei: 1000n * AGPU, mintRef }),
      ev('AccountFunded', { orgId, accountAddress, amountWei: 1000n * AGPU, txHash: hex(0xa000 + o, 32), mintRef }),
      ev('MintRestored', { orgId, mintRef, amountWei: 1000n * AGPU, previousTxHash: hex(0xa000 + o, 32), txHash: hex(0xb000 + o, 32) }),
      ev('AccountFunded', { orgId, accountAddress, amountWei: 5n * AGPU, txHash: hex(0xc000 + o, 32) }), // before mint references
      ev('AccountFunded', { orgId, accountAddress, amountWei: 7n * AGPU, txHash: hex(0xd000 + o, 32), mintRef: hex(0xe000 + o, 32) }), // funded, its request not on the log
    ]);
  }
  for (let n = 1; n <= jobs; n += 1) {
    const jobId = `job-${n}`;
    const orgId = `org-${1 + (n % orgs)}`;
    const budgetWei = 50n * AGPU + BigInt(n);
    // the job's reservation, released at its end
    lives.push([ev('FundsReserved', { orgId, jobId, amountWei: budgetWei }), ev('FundsReleased', { orgId, jobId, amountWei: budgetWei, reason: random() < 0.5 ? 'contracted' : 'cancelled' })]);
    const topUpId = `${TOP_UP_ID_PREFIX}${n}`;
    if (n % 3 === 0) {
      // a top-up recorded, its reservation released after
      lives.push([
        ev('FundsReserved', { orgId, jobId: topUpId, amountWei: AGPU }),
        ev('ContractToppedUp', { ...D.ContractToppedUp, jobId, topUpId, newDeadlineUnixSec: 1_800_000_000 + n * 10 }),
        ev('FundsReleased', { orgId, jobId: topUpId, amountWei: AGPU, reason: 'contracted' }),
        ev('ContractRunwayLow', { ...D.ContractRunwayLow, jobId }),
      ]);
    } else if (n % 3 === 1) {
      // a top-up that failed: released, then reserved again by a retry
      lives.push([
        ev('FundsReserved', { orgId, jobId: topUpId, amountWei: AGPU }),
        ev('FundsReleased', { orgId, jobId: topUpId, amountWei: AGPU, reason: 'abandoned' }),
        ev('FundsReserved', { orgId, jobId: topUpId, amountWei: AGPU }),
      ]);
    } else if (n % 6 === 2) {
      // a top-up given up: released, never recorded
      lives.push([ev('FundsReserved', { orgId, jobId: topUpId, amountWei: AGPU }), ev('FundsReleased', { orgId, jobId: topUpId, amountWei: AGPU, reason: 'abandoned' })]);
    }
    if (n % 4 === 1) {
      // re-match on failure: the node went offline, the job matched again, the escrow moved
      const attempts = 1 + (n % 8 === 1 ? 2 : 1);
      const life: PendingEvent[] = [];
      for (let attempt = 2; attempt <= attempts; attempt += 1) {
        const nodeId = `node-${1 + ((n + attempt) % 6)}`;
        life.push(
          ev('ContractAttemptFailed', { ...D.ContractAttemptFailed, jobId, attempt: attempt - 1, exhausted: false }),
          ev('JobRequeued', { ...D.JobRequeued, jobId, attempt }),
          ev('JobMatched', { ...D.JobMatched, jobId, nodeId, attempt }),
          ev('ContractReassigned', { ...D.ContractReassigned, jobId, attempt, nodeId, txHash: hex(n * 10 + attempt, 32) }),
        );
      }
      // the escrow never moved: the re-matched job's open failed, it failed, or its contract was refunded
      if (n % 12 === 5) life.splice(-1, 1, ev('ContractOpenFailed', { ...D.ContractOpenFailed, jobId }));
      if (n % 24 === 9) life.splice(-1, 1, ev('JobFailed', { jobId, code: 'NO_NODE', reason: 'no node will ever satisfy it' }));
      if (n % 24 === 21) life.splice(-1, 1, ev('ContractRefunded', { ...D.ContractRefunded, jobId }));
      if (n % 12 === 1) life.push(ev('JobMatched', { ...D.JobMatched, jobId, attempt: 2 })); // an attempt the row has passed
      if (n % 16 === 1) life.push(ev('ContractAttemptFailed', { ...D.ContractAttemptFailed, jobId, attempt: attempts, exhausted: true }));
      lives.push(life);
    }
    if (n % 10 === 5) {
      // an open given up at its deadline, landing late, then lost again
      lives.push([
        ev('ContractOpenFailed', { jobId, code: OPEN_TIMED_OUT, reason: 'no open on chain by the deadline' }),
        ev('ChainEffectRestored', { jobId, action: 'open', previousTxHash: null, txHash: hex(0x5000 + n, 32), blockNumber: '21' }),
        ev('RedundancyVerdictRecorded', { ...D.RedundancyVerdictRecorded }),
        ev('ChainEffectLost', { jobId, action: 'open', previousTxHash: hex(0x5000 + n, 32), code: 'OPEN_LOST', reason: 'lost again' }),
      ]);
    }
  }
  for (let v = 1; v <= VAULTS; v += 1) {
    const vaultId = `vault-${v}`;
    const orgId = `org-${1 + (v % orgs)}`;
    const triggers = v % 2 ? D.VaultCreated.triggers : D.VaultCreated.triggers.filter((t) => t.kind !== 'cron');
    const firing = (i: number): PendingEvent[] => {
      const firingId = `vf_${hex(v * 100 + i, 20).slice(2)}`;
      const jobId = `vj_${hex(v * 100 + i, 20).slice(2)}`;
      return [
        ev('VaultFired', { ...D.VaultFired, vaultId, firingId, jobId }),
        ev('VaultFiringEnded', { ...D.VaultFiringEnded, vaultId, firingId, jobId }),
        ev('VaultFiringSkipped', { ...D.VaultFiringSkipped, vaultId, firingId: `vf_${hex(v * 100 + i + 50, 20).slice(2)}` }),
      ];
    };
    const life: PendingEvent[] = [ev('VaultCreated', { ...D.VaultCreated, vaultId, orgId, triggers })];
    if (v === VAULTS) {
      life.push(ev('VaultOpenFailed', { ...D.VaultOpenFailed, vaultId }));
    } else {
      life.push(ev('VaultChainSynced', { ...D.VaultChainSynced, vaultId }), ...firing(1), ev('VaultTemplateEdited', { ...D.VaultTemplateEdited, vaultId }), ...firing(2));
      life.push(ev('VaultPaused', { vaultId }), ev('VaultChainSynced', { ...D.VaultChainSynced, vaultId, action: 'pause', status: 'paused' }));
      if (v % 2) life.push(ev('VaultResumed', { ...D.VaultResumed, vaultId }), ...firing(3));
      if (v % 3 === 0) life.push(ev('VaultClosed', { vaultId }), ev('VaultChainSynced', { ...D.VaultChainSynced, vaultId, action: 'close', status: 'closed', remainderWei: AGPU }));
    }
    lives.push(life);
  }
  return lives;
}

/** The views generator's market with the extra lives interleaved at random (each life in its order). */
function marketLog(seed: number): StoredEvent[] {
  const random = seededRandom(seed);
  const orgs = 3;
  const base = viewsEvents({ jobs: JOBS, seed, inFlight: 20, nodes: 6, orgs });
  const lives = extraLives(JOBS, orgs, random);
  const out: PendingEvent[] = [];
  let b = 0;
  while (b < base.length || lives.length > 0) {
    if (lives.length === 0 || (b < base.length && random() < 0.6)) {
      out.push(base[b]!);
      b += 1;
      continue;
    }
    const i = Math.floor(random() * lives.length);
    out.push(lives[i]!.shift()!);
    if (lives[i]!.length === 0) lives.splice(i, 1);
  }
  return storedStream(out);
}

/** The catalogue's example of every type of `kinds` (all on the same ids), in catalogue order, reversed, and shuffled `shuffles` times. */
function catalogueLog(kinds: readonly string[], seed: number, shuffles: number): StoredEvent[] {
  const random = seededRandom(seed);
  const types = EVENT_TYPES.filter((t) => kinds.includes(AGGREGATE_OF[t]));
  const orders: EventType[][] = [types, [...types].reverse()];
  for (let i = 0; i < shuffles; i += 1) {
    const xs = [...types];
    for (let j = xs.length - 1; j > 0; j -= 1) {
      const k = Math.floor(random() * (j + 1));
      [xs[j], xs[k]] = [xs[k]!, xs[j]!];
    }
    orders.push(xs);
  }
  return storedStream(orders.flat().map((t) => ev(t, D[t])));
}

/** The events of the model's kinds: what its projection receives. */
const ofKinds = (model: ReadModel, events: readonly StoredEvent[]): StoredEvent[] => events.filter((e) => model.kinds.includes(AGGREGATE_OF[e.event.type as EventType]));

/** As the runner: one batch of the delivered stream in one transaction (only its relevant events with `types`); a batch of none, no transaction. */
async function projectBatch(ds: DataSource, model: ReadModel, delivered: readonly StoredEvent[], types: ReadonlySet<string> | undefined): Promise<void> {
  const batch = delivered.filter((e) => types === undefined || types.has(e.event.type));
  if (batch.length === 0) return;
  await ds.transaction(async (em: EntityManager) => {
    if (model.applyBatch) await model.applyBatch(em, batch);
    else for (const e of batch) await model.apply(em, e);
  });
}

async function rowsOf(ds: DataSource, schema: string, model: ReadModel): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of model.tables) {
    const meta = ds.getMetadata(t.entity);
    const keys = meta.primaryColumns.map((c) => `"${c.databaseName}"`).join(', ');
    out[meta.tableName] = (await ds.query(`SELECT * FROM "${schema}"."${meta.tableName}" ORDER BY ${keys}`)) as unknown[];
  }
  return out;
}

const TYPED = SERVICE_READ_MODELS.flatMap((s) => s.models.filter((m) => m.types !== undefined).map((model) => ({ service: s, model })));

describe('ReadModel.types: a read model projected with only its types holds the rows it holds with every event', () => {
  let db: TestDatabase;
  const sources: DataSource[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
  }, 120_000);

  afterAll(async () => {
    for (const ds of sources) await ds.destroy().catch(() => undefined);
    await db?.drop();
  });

  async function schemaFor(s: ServiceReadModels, schema: string): Promise<DataSource> {
    const admin = new DataSource({ type: 'postgres', url: db.url });
    await admin.initialize();
    await admin.query(`CREATE SCHEMA "${schema}"`);
    await admin.destroy();
    const ds = new DataSource({ type: 'postgres', url: db.url, schema, entities: [...s.entities] as never, synchronize: true, poolSize: 2 });
    await ds.initialize();
    sources.push(ds);
    return ds;
  }

  it('declares types for the models that read many types and project a few', () => {
    expect(TYPED.map(({ model }) => model.name).sort()).toEqual(['deployer-opens', 'deployer-reassigns', 'deployer-top-ups', 'deployer-vaults', 'faucet-mints', 'intake-jobs', 'intake-vaults']);
    for (const { model } of TYPED) {
      // each a type of the model's kinds (one of another kind would never reach it), none twice
      expect({ model: model.name, outside: model.types!.filter((t) => !model.kinds.includes(AGGREGATE_OF[t])) }).toEqual({ model: model.name, outside: [] });
      expect(new Set(model.types).size).toBe(model.types!.length);
    }
  });

  it.each(TYPED.map(({ service, model }) => [`${service.service}.${model.name}`, service, model] as const))('%s', async (_name, service, model) => {
    const types = new Set<string>(model.types);
    // the catalogue's examples on top of a market whose rows they name (job-1, vault-1, org-1): each type meets rows it could change
    const runs = [
      [['market', marketLog(7)], ['catalogue', catalogueLog(model.kinds, 3, 4)]],
      [['other market', marketLog(8)]],
    ] as const;
    const prefix = model.name.replace(/-/g, '_');
    const all = await schemaFor(service, `${prefix}_all`);
    const typed = await schemaFor(service, `${prefix}_typed`);
    for (const run of runs) {
      for (const [stream, log] of run) {
        const events = ofKinds(model, log);
        // events the catalogue accepts, as the log stores them
        for (const e of events) encodeEvent(e.event);
        // the stream reaches every declared type, and some it skips (else the test shows nothing)
        expect({ stream, missing: [...types].filter((t) => !events.some((e) => e.event.type === t)) }).toEqual({ stream, missing: [] });
        expect(events.filter((e) => !types.has(e.event.type)).length).toBeGreaterThan(0);

        // the two stores compared after every batch: a reader sees the same rows at every checkpoint
        let rowsSeen = 0;
        for (let i = 0; i < events.length; i += BATCH) {
          const batch = events.slice(i, i + BATCH);
          await projectBatch(all, model, batch, undefined);
          await projectBatch(typed, model, batch, types);
          const [rowsAll, rowsTyped] = [await rowsOf(all, `${prefix}_all`, model), await rowsOf(typed, `${prefix}_typed`, model)];
          if (!isDeepStrictEqual(rowsTyped, rowsAll)) expect({ stream, throughSeq: batch.at(-1)!.seq, rows: rowsTyped }).toEqual({ stream, throughSeq: batch.at(-1)!.seq, rows: rowsAll });
          rowsSeen = Math.max(rowsSeen, Object.values(rowsAll).reduce((n, rows) => n + rows.length, 0));
        }
        // not an empty read model: the stream wrote rows to it
        expect({ stream, rowsSeen: rowsSeen > 0 }).toEqual({ stream, rowsSeen: true });
      }
      for (const [ds, schema] of [[all, `${prefix}_all`], [typed, `${prefix}_typed`]] as const) {
        await ds.query(`TRUNCATE ${model.tables.map((t) => `"${schema}"."${ds.getMetadata(t.entity).tableName}"`).join(', ')}`);
      }
    }
  }, 120_000);
});
