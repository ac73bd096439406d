import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { existsSync, readFileSync } from 'node:fs';
import { Client } from 'pg';
import { createServer } from 'node:net';
import { createTestDatabase, freePort, freePortRange, startAnvil, startNats, TestInfraError } from './index';

describe('freePort', () => {
  it('returns a usable TCP port', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65536);
  });
});

describe('freePortRange', () => {
  it('given a count, then that many consecutive ports below the ephemeral range can each be listened on', async () => {
    const base = await freePortRange(5);
    const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    expect(base).toBeGreaterThanOrEqual(10_000);
    expect(base + 5).toBeLessThanOrEqual(ephemeralLow);
    for (let i = 0; i < 5; i++) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(base + i, '127.0.0.1', resolve);
      });
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('startNats', () => {
  it('starts a private JetStream server and removes its store on stop', async () => {
    const nats = await startNats();
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    const info = await jsm.getAccountInfo();
    expect(info.limits).toBeDefined();
    await nc.close();
    await nats.stop();
    expect(existsSync(nats.storeDir)).toBe(false);
  });

  it('names the install command when the binary is missing', async () => {
    const err = await startNats({ binary: 'nats-server-that-does-not-exist' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TestInfraError);
    expect((err as TestInfraError).code).toBe('NATS_SERVER_MISSING');
    expect((err as Error).message).toContain('apt-get install nats-server');
  });
});

describe('createTestDatabase', () => {
  it('creates a fresh database each time and drops it', async () => {
    const a = await createTestDatabase();
    const b = await createTestDatabase();
    expect(a.name).not.toBe(b.name);
    const client = new Client({ connectionString: a.url });
    await client.connect();
    const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
    expect(rows[0].db).toBe(a.name);
    await client.query('CREATE TABLE t (x int)');
    await client.end();
    await a.drop();
    await b.drop();
    const reconnect = new Client({ connectionString: a.url });
    await expect(reconnect.connect()).rejects.toThrow(/does not exist/);
  });
});

describe('startNats restart', () => {
  it('restarts on the same port with the same store: streams survive, clients reconnect', async () => {
    const nats = await startNats();
    try {
      const nc = await connect({ servers: nats.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'KEEP', subjects: ['keep.>'] });
      await jsm.jetstream().publish('keep.a', 'x');
      await nats.restart({ signal: 'SIGKILL', downMs: 200 });
      let info;
      for (let i = 0; i < 50 && !info; i += 1) {
        info = await jsm.streams.info('KEEP').catch(() => undefined);
        if (!info) await new Promise((r) => setTimeout(r, 100));
      }
      expect(info?.state.messages).toBe(1);
      await nc.close();
    } finally {
      await nats.stop();
    }
  });
});

describe('startAnvil (re-exported from @starminer/chain, loaded lazily)', () => {
  it('starts a chain that answers eth_chainId, and stops it', async () => {
    const anvil = await startAnvil();
    try {
      const res = await fetch(anvil.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      });
      const body = (await res.json()) as { result: string };
      expect(Number(body.result)).toBe(anvil.chainId);
    } finally {
      await anvil.stop();
    }
  });
});
