import { Column, DataSource, Entity, PrimaryColumn } from 'typeorm';
import { LIMITS } from '@starminer/events';
import { createTestDatabase, type TestDatabase } from '@starminer/testing';
import { digestReadModel, readModelChunk, type ReadModel } from './read-models';

@Entity({ name: 'things' })
class ThingRow {
  @PrimaryColumn({ type: 'text' }) thingId!: string;
  @Column({ type: 'numeric', precision: 78, scale: 0 }) amountWei!: string;
  @Column({ type: 'timestamptz' }) at!: Date;
  @Column({ type: 'jsonb' }) terms!: object;
  @Column({ type: 'int', default: 0 }) attempts!: number;
}

const MODEL: ReadModel = { name: 'things', kinds: ['job'], apply: async () => undefined, tables: [{ entity: ThingRow, notFromLog: ['attempts'] }] };

describe('read-model digests (what the auditor compares)', () => {
  let db: TestDatabase;
  const sources: DataSource[] = [];

  /** A schema of its own with the things table, filled with `rows` in the given order, and a checkpoint. */
  async function schemaWith(schema: string, rows: { thingId: string; amountWei: string; attempts?: number; terms?: object }[], timeZone = 'UTC'): Promise<DataSource> {
    const ds = new DataSource({ type: 'postgres', url: db.url, schema, entities: [ThingRow], synchronize: false, extra: { options: `-c TimeZone=${timeZone}` } });
    await ds.initialize();
    sources.push(ds);
    await ds.query(`CREATE SCHEMA "${schema}"`);
    await ds.synchronize();
    await ds.query(`CREATE TABLE "${schema}".projection_checkpoint (name text PRIMARY KEY, last_seq bigint NOT NULL)`);
    await ds.query(`INSERT INTO "${schema}".projection_checkpoint VALUES ('things', 42)`);
    for (const r of rows) {
      await ds.getRepository(ThingRow).insert({ at: new Date('2026-11-28T10:00:00Z'), terms: { b: 2, a: [1, 'x'] }, attempts: 0, ...r });
    }
    return ds;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
  }, 120_000);

  afterAll(async () => {
    for (const ds of sources) await ds.destroy();
    await db?.drop();
  });

  it('is the same for the same rows whatever their insertion order, session time zone and columns not of the log', async () => {
    const rows = [
      { thingId: 'b', amountWei: '10' },
      { thingId: 'a', amountWei: '20' },
      { thingId: 'C', amountWei: '30' },
    ];
    const one = await digestReadModel(await schemaWith('one', rows), 'one', MODEL);
    const two = await digestReadModel(await schemaWith('two', [...rows].reverse().map((r) => ({ ...r, attempts: 7 })), 'Asia/Tokyo'), 'two', MODEL);
    expect(one).toEqual(two);
    expect(one).toMatchObject({ model: 'things', checkpoint: 42, tables: [{ table: 'things', columns: ['amountWei', 'at', 'terms', 'thingId'], rows: 3, chunks: [expect.stringMatching(/^[0-9a-f]{64}$/)] }] });
  });

  it('changes with any log-decided value, and its chunk shows the row as Postgres prints it, in primary-key order ("C" collation)', async () => {
    const base = await digestReadModel(await schemaWith('three', [{ thingId: 'a', amountWei: '1' }, { thingId: 'B', amountWei: '2' }]), 'three', MODEL);
    const ds = await schemaWith('four', [{ thingId: 'a', amountWei: '1' }, { thingId: 'B', amountWei: '3' }]);
    const changed = await digestReadModel(ds, 'four', MODEL);
    expect(changed.tables[0]!.sha256).not.toBe(base.tables[0]!.sha256);
    const chunk = await readModelChunk(ds, 'four', MODEL, 'things', 0);
    expect(chunk).toEqual({
      checkpoint: 42,
      columns: ['amountWei', 'at', 'terms', 'thingId'],
      rows: [
        ['3', '2026-11-28 10:00:00+00', '{"a": [1, "x"], "b": 2}', 'B'],
        ['1', '2026-11-28 10:00:00+00', '{"a": [1, "x"], "b": 2}', 'a'],
      ],
    });
    await expect(readModelChunk(ds, 'four', MODEL, 'nothing', 0)).rejects.toThrow(RangeError);
  });

  it(`hashes ${LIMITS.readModelChunkRows} rows per chunk and pages past the first chunk by primary key`, async () => {
    const n = LIMITS.readModelChunkRows + 3;
    const ds = await schemaWith('five', []);
    await ds.query(`INSERT INTO five.things ("thingId", "amountWei", at, terms) SELECT 't' || lpad(i::text, 5, '0'), i, now(), '{}' FROM generate_series(1, ${n}) i`);
    const digest = await digestReadModel(ds, 'five', MODEL);
    expect(digest.tables[0]).toMatchObject({ rows: n });
    expect(digest.tables[0]!.chunks).toHaveLength(2);
    const second = await readModelChunk(ds, 'five', MODEL, 'things', 1);
    expect(second.rows.map((r) => r[3])).toEqual([`t${String(n - 2).padStart(5, '0')}`, `t${String(n - 1).padStart(5, '0')}`, `t${String(n).padStart(5, '0')}`]);
  });
});
