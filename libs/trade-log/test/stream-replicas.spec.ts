import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { eventually, freePort, portAcceptsConnections, startNats, type TestNats } from '@starminer/testing';
import { connectTradeLog, StreamConfigError, TradeLogArgumentError, type TradeLog } from '../src';
import { TEST_CODEC } from './helpers';

/**
 * TRADE_STREAM_REPLICAS reaches the stream: on one server (the tests' and the dev stack's) R1 is
 * created and R3 is refused with the server's reason; on a real three-server JetStream cluster (as
 * the prod overlay runs it) R3 is created, and an R1 stream is raised to R3, never lowered.
 */

const connect = (url: string, name: string): Promise<TradeLog> => connectTradeLog({ servers: url, name, streamName: 'TRADE', ...TEST_CODEC });

describe('ensureStream replicas on one server', () => {
  let nats: TestNats;
  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(() => nats?.stop());

  it('creates the stream at R1 by default and refuses R3 with the reason, naming the stream', async () => {
    const log = await connect(nats.url, 'replicas-single');
    try {
      const refused = await log.ensureStream({ replicas: 3 }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(StreamConfigError);
      expect((refused as Error).message).toMatch(/stream TRADE \(3 replicas\) could not be created: .*replicas > 1 not supported in non-clustered mode/);

      await log.ensureStream();
      const jsm = await jetstreamManager(log.nc);
      expect((await jsm.streams.info('TRADE')).config.num_replicas).toBe(1);
    } finally {
      await log.close();
    }
  });

  it('refuses a replica count JetStream cannot have before asking the server', async () => {
    const log = await connect(nats.url, 'replicas-arg');
    try {
      for (const replicas of [0, 6, 1.5]) await expect(log.ensureStream({ replicas })).rejects.toBeInstanceOf(TradeLogArgumentError);
    } finally {
      await log.close();
    }
  });
});

/** Three nats-servers routed into one JetStream cluster on 127.0.0.1, each with its own store. */
async function startCluster(size: number): Promise<{ urls: string[]; stop(): Promise<void> }> {
  const binary = process.env.NATS_SERVER_BIN ?? 'nats-server';
  const clientPorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routePorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const dirs = await Promise.all(Array.from({ length: size }, () => mkdtemp(join(tmpdir(), 'starminer-nats-cluster-'))));
  const routes = routePorts.map((p) => `nats-route://127.0.0.1:${p}`).join(',');
  const children: ChildProcess[] = clientPorts.map((port, i) =>
    spawn(binary, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dirs[i], '-n', `n${i + 1}`, '--cluster_name', 'starminer-test', '--cluster', `nats://127.0.0.1:${routePorts[i]}`, '--routes', routes], {
      stdio: 'ignore',
    }),
  );
  await eventually(async () => (await Promise.all(clientPorts.map(portAcceptsConnections))).every(Boolean), 15_000, 50);
  return {
    urls: clientPorts.map((p) => `nats://127.0.0.1:${p}`),
    stop: async () => {
      await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r).kill('SIGKILL')) : undefined)));
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}

describe('ensureStream replicas on a three-server cluster', () => {
  let cluster: Awaited<ReturnType<typeof startCluster>>;
  let log: TradeLog;
  beforeAll(async () => {
    cluster = await startCluster(3);
    log = await connect(cluster.urls.join(','), 'replicas-cluster');
  }, 60_000);
  afterAll(async () => {
    await log?.close();
    await cluster?.stop();
  });

  it('raises an R1 stream to R3 and never lowers it; the cluster places three replicas', async () => {
    // the cluster answers JetStream requests once its meta leader is elected
    await eventually(async () => (await jetstreamManager(log.nc, { timeout: 1_000 }), true), 30_000, 250);
    await log.ensureStream({ replicas: 1 });
    const jsm = await jetstreamManager(log.nc);
    expect((await jsm.streams.info('TRADE')).config.num_replicas).toBe(1);

    // a meta leader is elected by two of the three; until the third has joined, R3 has no
    // placement ("no suitable peers"): ask again until the whole cluster is there
    await eventually(async () => (await log.ensureStream({ replicas: 3 }), true), 30_000, 250);
    const raised = await jsm.streams.info('TRADE');
    expect(raised.config.num_replicas).toBe(3);
    // the leader and two followers
    await eventually(async () => ((await jsm.streams.info('TRADE')).cluster?.replicas ?? []).length === 2);

    await log.ensureStream({ replicas: 1 }); // a service still configured for R1 leaves R3 alone
    expect((await jsm.streams.info('TRADE')).config.num_replicas).toBe(3);
  }, 60_000);
});
