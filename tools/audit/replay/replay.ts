import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { DataSource, type EntityManager } from 'typeorm';
import { decodeEvent } from '@starminer/events';
import { digestReadModel, type ReadModel } from '@starminer/service-kit';
import type { ReadModelDigest } from '@starminer/events';
import type { StoredEvent, TradeLog } from '@starminer/trade-log';
import { scanLog } from '../shared/log-reader';
import type { Progress } from '../shared/progress';
import type { ServiceReadModels } from './read-models';

/** Scratch schemas are `audit_<service>`: never a live service's schema, even on a live database. */
export const SCRATCH_SCHEMA_PREFIX = 'audit_';
/** Connections one scratch schema's DataSource opens (the replay writes one transaction at a time). */
const SCRATCH_POOL_SIZE = 3;
/**
 * Events applied per transaction of each read model: several fetches of the log, so each statement
 * of a batch path carries many rows (fewer statements for Postgres); two such batches in memory at most.
 */
export const REPLAY_APPLY_EVENTS_MAX = 5_000;
/** Events the replay keeps of those it could not apply (the count goes on). */
export const REPLAY_PARKED_KEPT_MAX = 100;

export interface ReplayTarget {
  readonly service: string;
  readonly model: ReadModel;
  /** The last sequence to apply: the live read model's checkpoint, or the log's end. */
  readonly toSeq: number;
}

export interface ReplayParked {
  readonly service: string;
  readonly model: string;
  readonly seq: number;
  readonly subject: string;
  readonly error: string;
}

export interface ReplayResult {
  readonly digests: { service: string; digest: ReadModelDigest }[];
  readonly events: number;
  readonly undecodable: number;
  readonly parked: readonly ReplayParked[];
  readonly parkedCount: number;
  /** Wall time each read model spent in its transactions (they run at once, so these overlap). */
  readonly applyMs: Readonly<Record<string, number>>;
  /** Time the digests of the rebuilt read models took (after the log was applied). */
  readonly digestMs: number;
  /** The scratch DataSources (open until close()), for reading a chunk of rows where a digest differs. */
  readonly sources: ReadonlyMap<string, DataSource>;
  close(): Promise<void>;
}

/**
 * Rebuilds read models from the log into scratch schemas with the services' own projection code
 * (each `ReadModel`'s apply or applyBatch, in one transaction per model per batch of the log), each
 * up to its target sequence, then digests them as the live services do. One pass over the log,
 * a bounded batch at a time. An event a model cannot apply is set aside as the live runner would
 * park it (each event of the batch in a savepoint), and the rest goes on.
 */
export async function replayReadModels(
  log: TradeLog,
  databaseUrl: string,
  services: readonly ServiceReadModels[],
  targets: readonly ReplayTarget[],
  progress: Progress,
): Promise<ReplayResult> {
  const sources = new Map<string, DataSource>();
  const close = async (): Promise<void> => {
    for (const ds of sources.values()) await ds.destroy().catch(() => undefined);
  };
  try {
    for (const s of services) {
      if (!targets.some((t) => t.service === s.service)) continue;
      sources.set(s.service, await scratchSource(databaseUrl, s));
    }
    const toSeq = Math.max(0, ...targets.map((t) => t.toSeq));
    const prefix = log.subjectPrefix;
    const lanes = targets.map((t) => ({ ...t, ds: sources.get(t.service)!, heads: t.model.kinds.map((k) => `${prefix}.${k}.`), ms: 0 }));
    const parked: ReplayParked[] = [];
    let parkedCount = 0;
    let undecodable = 0;
    let events = 0;
    // one batch applied while the next is read and decoded (the database works in its own process): at most two in memory
    let applying: Promise<void> = Promise.resolve();
    const pending: StoredEvent[] = [];
    let pendingMessages = 0;
    const applyAll = async (decoded: StoredEvent[], size: number): Promise<void> => {
      // the read models are independent: their transactions run at once (each waits on Postgres, not on the others)
      const results = await Promise.all(
        lanes.map(async (lane) => {
          const mine = decoded.filter((e) => e.seq <= lane.toSeq && lane.heads.some((h) => e.subject.startsWith(h)));
          const t0 = performance.now();
          const failed = mine.length === 0 ? [] : await applyBatch(lane.ds, lane.model, mine);
          lane.ms += performance.now() - t0;
          return { lane, failed };
        }),
      );
      for (const { lane, failed } of results) {
        for (const f of failed) {
          parkedCount += 1;
          if (parked.length < REPLAY_PARKED_KEPT_MAX) parked.push({ service: lane.service, model: lane.model.name, seq: f.event.seq, subject: f.event.subject, error: f.error });
        }
      }
      events += size;
      progress.update(events, toSeq);
    };
    await scanLog(log, { toSeq }, async (batch) => {
      const decoded: StoredEvent[] = [];
      for (const m of batch) {
        try {
          decoded.push({ seq: m.seq, subject: m.subject, event: decodeEvent(m.data), redelivered: false });
        } catch {
          // the live readers park it too (the catalogue refuses it); the anchors command names the altered bytes
          undecodable += 1;
        }
      }
      pending.push(...decoded);
      pendingMessages += batch.length;
      if (pending.length < REPLAY_APPLY_EVENTS_MAX) return;
      await applying;
      applying = applyAll(pending.splice(0), pendingMessages);
      pendingMessages = 0;
      // a failure surfaces at the next batch's await or after the scan; keep it from being reported unhandled meanwhile
      applying.catch(() => undefined);
    });
    await applying;
    if (pending.length > 0 || pendingMessages > 0) await applyAll(pending.splice(0), pendingMessages);
    progress.stop();
    const digestStart = performance.now();
    // each read model digested on its own connection, at once
    const digests: { service: string; digest: ReadModelDigest }[] = await Promise.all(
      lanes.map(async (lane) => {
        const schema = `${SCRATCH_SCHEMA_PREFIX}${lane.service}`;
        await lane.ds.query(`INSERT INTO "${schema}".projection_checkpoint (name, last_seq) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET last_seq = EXCLUDED.last_seq`, [lane.model.name, lane.toSeq]);
        return { service: lane.service, digest: await digestReadModel(lane.ds, schema, lane.model) };
      }),
    );
    const applyMs = Object.fromEntries(lanes.map((l) => [`${l.service}.${l.model.name}`, Math.round(l.ms)]));
    const digestMs = Math.round(performance.now() - digestStart);
    return { digests, events, undecodable, parked, parkedCount, applyMs, digestMs, sources, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A fresh `audit_<service>` schema (dropped first if an earlier run left it) with the service's tables. */
async function scratchSource(databaseUrl: string, s: ServiceReadModels): Promise<DataSource> {
  const schema = `${SCRATCH_SCHEMA_PREFIX}${s.service}`;
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.query(`CREATE SCHEMA "${schema}"`);
    await client.query(`CREATE UNLOGGED TABLE "${schema}".projection_checkpoint (name text PRIMARY KEY, last_seq bigint NOT NULL)`);
  } finally {
    await client.end();
  }
  const ds = new DataSource({ type: 'postgres', url: databaseUrl, schema, entities: [...s.entities] as never, synchronize: true, poolSize: SCRATCH_POOL_SIZE });
  await ds.initialize();
  // scratch rows are rebuilt by the next run, never recovered: no write-ahead log for them
  for (const entity of s.entities) await ds.query(`ALTER TABLE "${schema}"."${ds.getMetadata(entity).tableName}" SET UNLOGGED`);
  return ds;
}

/**
 * One model's events of one log batch in one transaction; when the batch fails, each event again in
 * a savepoint, so the one that fails is found and set aside and the others are applied.
 */
async function applyBatch(ds: DataSource, model: ReadModel, events: StoredEvent[]): Promise<{ event: StoredEvent; error: string }[]> {
  const run = async (em: EntityManager, list: StoredEvent[]): Promise<void> => {
    if (model.applyBatch) await model.applyBatch(em, list);
    else for (const e of list) await model.apply(em, e);
  };
  try {
    await ds.transaction(async (em) => {
      // a scratch database: a crash loses a run, never a fact, so no commit waits for the disk
      await em.query('SET LOCAL synchronous_commit = off');
      await run(em, events);
    });
    return [];
  } catch {
    const failed: { event: StoredEvent; error: string }[] = [];
    await ds.transaction(async (em) => {
      for (const e of events) {
        await em.query('SAVEPOINT audit_apply');
        try {
          await model.apply(em, e);
          await em.query('RELEASE SAVEPOINT audit_apply');
        } catch (err) {
          await em.query('ROLLBACK TO SAVEPOINT audit_apply');
          failed.push({ event: e, error: (err as Error).message });
        }
      }
    });
    return failed;
  }
}
