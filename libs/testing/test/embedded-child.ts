/** Creates, uses and drops a database with the embedded Postgres forced; prints one JSON line. */
import { Client } from 'pg';
import { createTestDatabase, stopEmbeddedPostgres, testPostgresKind } from '../src';

async function main(): Promise<void> {
  const db = await createTestDatabase();
  const client = new Client({ connectionString: db.url });
  await client.connect();
  const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
  await client.end();
  await db.drop();
  const kind = await testPostgresKind();
  const port = new URL(db.url).port;
  await stopEmbeddedPostgres();
  process.stdout.write(`${JSON.stringify({ kind, db: rows[0].db, name: db.name, port })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
