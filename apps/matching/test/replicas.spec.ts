/**
 * Three matching replicas (MATCHING_PARTITIONS=4, each its own process) over one log, under a
 * steady stream of jobs; the replica holding a partition is killed with SIGKILL mid-stream. The log
 * must then show: no job matched twice, no node booked over its GPUs at any point, every match
 * written under a lease whose epoch never goes back within its partition, the dead replica's
 * partition matching again under a new epoch within TAKEOVER_BOUND_MS, and every job matched in
 * the end.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { uuidv7 } from 'uuidv7';
import { EXAMPLE_EVENT_DATA, makeEvent, subjectFor, type EventData, type EventType, type TradeEvent } from '@starminer/events';
import { marketKey, partitionOf } from '@starminer/matching';
import { eventually, startTestInfra, type TestInfra } from '@starminer/service-testing';
import { freePort } from '@starminer/testing';
import { decodeLeaseRecord, LEASE_CLOCK_SKEW_MS_DEFAULT, LEASE_RENEW_DIVISOR, LEASE_TTL_MS_DEFAULT, type LeaseRecord, type TradeLog } from '@starminer/trade-log';

const ROOT = resolve(__dirname, '..', '..', '..');
const PARTITIONS = 4;
const REPLICAS = 3;
const AGPU = 10n ** 18n;
const NODE_ADDRESS = `0x${'42'.repeat(20)}`;
const REGIONS = ['eu-west', 'us-east', 'us-west', 'ap-south', 'eu-north', 'sa-east'];
const MODELS = ['RTX4090', 'A100', 'H100', 'L40S'];
/** Each market: NODES_PER_MARKET nodes of GPUS_PER_NODE GPUs; jobs take 1 GPU and run JOB_RUN_MS. */
const NODES_PER_MARKET = 1;
const GPUS_PER_NODE = 2;
const JOB_RUN_MS = 600;
const JOBS_PER_SECOND = 16;
const STREAM_MS = 14_000;
const KILL_AT_MS = 5_000;
/**
 * A dead holder's partition matches again within: the lease's TTL and the skew allowance after
 * its last renewal (a renewal every TTL/LEASE_RENEW_DIVISOR, so the last one is at most that old at
 * the kill), then a lease tick of the taker (one renew interval), the catch-up barrier and a round
 * (the round timer: 1 s), and 1.5 s for a loaded two-core machine. Written in docs/BENCHMARKS.md.
 */
const RENEW_MS = Math.floor(LEASE_TTL_MS_DEFAULT / LEASE_RENEW_DIVISOR);
const TAKEOVER_BOUND_MS = LEASE_TTL_MS_DEFAULT + LEASE_CLOCK_SKEW_MS_DEFAULT + RENEW_MS + 1_000 + 1_500;

interface Replica {
  readonly id: string;
  readonly port: number;
  child: ChildProcess;
  exited: Promise<number | null>;
  output: string[];
}

/** `npm run audit -- matching` over this log, as a child process (the auditor's tool is not part of the service). */
async function auditMatching(natsUrl: string, log: TradeLog): Promise<{ code: number; summary: Record<string, unknown> }> {
  const run = await promisify(execFile)(process.execPath, ['-r', './tools/stack/register.cjs', 'tools/audit/main.ts', 'matching', '--json'], {
    cwd: ROOT,
    env: { ...process.env, NATS_URL: natsUrl, TRADE_STREAM: log.streamName, TRADE_SUBJECT_PREFIX: log.subjectPrefix },
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (err: { code?: number; stdout?: string }) => ({ code: err.code ?? -1, stdout: err.stdout ?? '' }),
  );
  return { code: run.code, summary: JSON.parse(run.stdout.trim().split('\n').pop() || '{}') as Record<string, unknown> };
}

describe('matching as three partitioned replicas over one log: a holder killed mid-stream', () => {
  let infra: TestInfra;
  let log: TradeLog;
  const replicas: Replica[] = [];

  const append = async <T extends EventType>(kind: 'node' | 'job' | 'contract', id: string, type: T, data: EventData<T>) => {
    const e = makeEvent(type, data, { id: uuidv7(), aggregateId: id, occurredAt: new Date().toISOString(), correlationId: id, causationId: id, actor: 'test' });
    await log.append(subjectFor(kind, id, log.subjectPrefix), [e], { expectedLastSubjectSeq: 'any' });
  };

  const start = async (id: string): Promise<Replica> => {
    const port = await freePort();
    const env = { ...process.env, ...infra.env, HTTP_PORT: String(port), MATCHING_PARTITIONS: String(PARTITIONS), MATCHING_REPLICA_ID: id, LOG_LEVEL: 'info', LOG_FORMAT: 'json' };
    const child = spawn(process.execPath, ['--require', join(ROOT, 'tools/stack/register.cjs'), join(ROOT, 'apps/matching/src/main.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    const keep = (chunk: Buffer) => {
      output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      if (output.length > 200) output.splice(0, output.length - 200);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const r: Replica = { id, port, child, exited, output };
    replicas.push(r);
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`replica ${id} exited ${child.exitCode}: ${output.slice(-20).join('\n')}`);
        const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
        if (res.status !== 200) throw new Error(`replica ${id} not ready: ${res.status}`);
        return true;
      },
      90_000,
      250,
    );
    return r;
  };

  const leaseOf = async (partition: string): Promise<LeaseRecord | undefined> => {
    const jsm = await jetstreamManager(log.nc);
    const m = await jsm.streams.getMessage(`${log.streamName}_LEASES`, { last_by_subj: `${log.subjectPrefix}-lease.matching.partition.${partition}` }).catch(() => null);
    return m ? decodeLeaseRecord(m.data) : undefined;
  };

  /** Every event on the log in order, with its store time. */
  const readAll = async (): Promise<{ seq: number; atMs: number; event: TradeEvent }[]> => {
    const jsm = await jetstreamManager(log.nc);
    const last = (await jsm.streams.info(log.streamName)).state.last_seq;
    const out: { seq: number; atMs: number; event: TradeEvent }[] = [];
    for (let seq = 1; seq <= last; seq++) {
      const m = await jsm.streams.getMessage(log.streamName, { seq }).catch(() => null);
      if (m) out.push({ seq, atMs: m.time.getTime(), event: log.decode(m.data) as TradeEvent });
    }
    return out;
  };

  beforeAll(async () => {
    infra = await startTestInfra();
    log = infra.log;
  }, 120_000);

  afterAll(async () => {
    for (const r of replicas) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    await Promise.all(replicas.map((r) => r.exited));
    await infra?.stop();
  });

  it(
    'matches no job twice, books no node over capacity, and hands the dead holder\'s partition over within the bound',
    async () => {
      // a market in every partition: the first market of each partition, in a fixed order
      const byPartition = new Map<number, { gpuModel: string; region: string }[]>();
      for (const gpuModel of MODELS) for (const region of REGIONS) {
        const p = partitionOf(marketKey(gpuModel, region), PARTITIONS);
        const list = byPartition.get(p) ?? [];
        if (list.length < 2) byPartition.set(p, [...list, { gpuModel, region }]);
      }
      expect([...byPartition.keys()].sort()).toEqual([0, 1, 2, 3]);
      const markets = [...byPartition.entries()].flatMap(([partition, ms]) => ms.map((m) => ({ ...m, partition: `p${partition}` })));
      const nodeGpus = new Map<string, number>();
      const nodeMarket = new Map<string, string>();
      for (const m of markets) {
        for (let i = 0; i < NODES_PER_MARKET; i++) {
          const nodeId = `node-${m.gpuModel}-${m.region}-${i}`;
          const { poolId: _pool, ...example } = EXAMPLE_EVENT_DATA.NodeRegistered; // no pool: stake plays no part here
          await append('node', nodeId, 'NodeRegistered', { ...example, nodeId, nodeAddress: NODE_ADDRESS, gpuModel: m.gpuModel, gpuCount: GPUS_PER_NODE, region: m.region });
          await append('node', nodeId, 'NodeAvailabilityChanged', { nodeId, online: true, reason: 'registered' });
          nodeGpus.set(nodeId, GPUS_PER_NODE);
          nodeMarket.set(nodeId, m.partition);
        }
      }

      for (let i = 0; i < REPLICAS; i++) await start(`r${i}`);
      // every partition held by someone before the stream starts
      await eventually(
        async () => {
          for (let p = 0; p < PARTITIONS; p++) {
            const lease = await leaseOf(`p${p}`);
            if (!lease || lease.released || lease.expiresAtMs < Date.now()) throw new Error(`p${p} not held; replicas said:\n${replicas.map((r) => r.output.slice(-6).join('\n')).join('\n')}`);
          }
          return true;
        },
        20_000,
        200,
      );

      // the stream: half the jobs name one market (so every partition keeps getting work), half take any;
      // a job's contract "releases" JOB_RUN_MS after its match, freeing its GPU
      const submitted: string[] = [];
      const released = new Set<string>();
      const releaseTimers: NodeJS.Timeout[] = [];
      const matchedSub = log.nc.subscribe(`${log.subjectPrefix}.job.>`, {
        callback: (_err, msg) => {
          const e = log.decode(msg.data) as TradeEvent;
          if (e.type !== 'JobMatched' || released.has(e.data.jobId)) return;
          released.add(e.data.jobId);
          releaseTimers.push(
            setTimeout(() => {
              void append('contract', e.data.jobId, 'ContractReleased', { jobId: e.data.jobId, nodeAddress: NODE_ADDRESS, amountWei: 1n, txHash: null });
            }, JOB_RUN_MS),
          );
        },
      });
      const t0 = Date.now();
      let victim: { replica: Replica; partition: string; epoch: number; killedAtMs: number } | undefined;
      for (let i = 0; Date.now() - t0 < STREAM_MS; i++) {
        const due = t0 + (i * 1000) / JOBS_PER_SECOND;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        if (!victim && Date.now() - t0 >= KILL_AT_MS) {
          const lease = (await leaseOf('p0'))!;
          const replica = replicas.find((r) => r.id === lease.holder)!;
          replica.child.kill('SIGKILL');
          victim = { replica, partition: 'p0', epoch: lease.epoch, killedAtMs: Date.now() };
        }
        const jobId = `job-${String(i).padStart(4, '0')}`;
        const m = markets[i % markets.length]!;
        const named = i % 2 === 0;
        await append('job', jobId, 'JobSubmitted', {
          ...EXAMPLE_EVENT_DATA.JobSubmitted,
          jobId,
          budgetWei: 100n * AGPU,
          requirements: { gpuModels: named ? [m.gpuModel] : [], gpuCount: 1, minVramGiB: 0, tee: false, regions: named ? [m.region] : [] },
          deadlineSec: 3600,
        });
        submitted.push(jobId);
      }
      expect(victim).toBeDefined();
      await victim!.replica.exited;

      // every job matched in the end (the survivors take the dead replica's partitions)
      await eventually(
        () => {
          const missing = submitted.filter((j) => !released.has(j));
          if (missing.length) throw new Error(`${missing.length} jobs not matched yet, e.g. ${missing.slice(0, 3).join(', ')}`);
          return true;
        },
        60_000,
        500,
      );
      matchedSub.unsubscribe();
      for (const t of releaseTimers) clearTimeout(t);
      await new Promise((r) => setTimeout(r, JOB_RUN_MS + 200));

      const events = await readAll();
      const matches = events.filter((e): e is typeof e & { event: Extract<TradeEvent, { type: 'JobMatched' }> } => e.event.type === 'JobMatched');

      // no job matched twice
      const perJob = new Map<string, number>();
      for (const m of matches) perJob.set(m.event.data.jobId, (perJob.get(m.event.data.jobId) ?? 0) + 1);
      expect([...perJob.entries()].filter(([, n]) => n > 1)).toEqual([]);
      expect(new Set(matches.map((m) => m.event.data.jobId))).toEqual(new Set(submitted));

      // no node over capacity at any point of the log
      const used = new Map<string, number>();
      const gpusOfJob = new Map<string, { nodeId: string; gpus: number }>();
      const over: string[] = [];
      let full = 0;
      for (const { seq, event: e } of events) {
        if (e.type === 'JobMatched') {
          const now = (used.get(e.data.nodeId) ?? 0) + e.data.gpuCount;
          used.set(e.data.nodeId, now);
          gpusOfJob.set(e.data.jobId, { nodeId: e.data.nodeId, gpus: e.data.gpuCount });
          if (now > nodeGpus.get(e.data.nodeId)!) over.push(`#${seq}: ${e.data.nodeId} at ${now} of ${nodeGpus.get(e.data.nodeId)} GPUs`);
          if (now === nodeGpus.get(e.data.nodeId)) full++;
        } else if (e.type === 'ContractReleased') {
          const g = gpusOfJob.get(e.data.jobId);
          if (g) used.set(g.nodeId, used.get(g.nodeId)! - g.gpus);
        }
      }
      expect(over).toEqual([]);
      expect(full).toBeGreaterThan(0); // nodes were full at times: the check above had something to catch

      // every match under a lease of its node's partition, epochs never going back within a partition
      const lastEpoch = new Map<string, number>();
      for (const m of matches) {
        const lease = m.event.data.lease;
        expect(lease?.partition).toBe(nodeMarket.get(m.event.data.nodeId));
        expect(lease!.epoch).toBeGreaterThanOrEqual(lastEpoch.get(lease!.partition) ?? 0);
        lastEpoch.set(lease!.partition, lease!.epoch);
      }
      // the dead holder's partition matched again under a new epoch within the bound (epochs never go back: above)
      const v = victim!;
      const after = matches.filter((m) => m.event.data.lease!.partition === v.partition && m.event.data.lease!.epoch > v.epoch);
      expect(after.length).toBeGreaterThan(0);
      const takeoverMs = after[0]!.atMs - v.killedAtMs;
      expect(takeoverMs).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);
      // the measured figure, for docs/BENCHMARKS.md
      console.log(`partition ${v.partition} of ${v.replica.id} (epoch ${v.epoch}) killed: matched again after ${takeoverMs} ms (bound ${TAKEOVER_BOUND_MS} ms); ${matches.length} matches, ${submitted.length} jobs`);

      // the auditor's re-run of the matching over this log: every match priced by what the log says
      // (each market's price moves on the log by its holder only), on a node that was free and fit
      const audit = await auditMatching(infra.nats.url, log);
      expect({ code: audit.code, firstDifference: audit.summary.firstDifference }).toEqual({ code: 0, firstDifference: undefined });
      expect(audit.summary).toMatchObject({ matches: matches.length });
    },
    240_000,
  );
});
