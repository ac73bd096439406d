/**
 * The auditor's replay at scale (issue 14, item 6): `npm run bench:audit -- [--events N] [--nodes K] [--orgs O]`
 *
 * 1. Writes a market of about N events (default 1,000,000) onto a private nats-server's stream, each
 *    through the catalogue's encoder: O orgs and K nodes registered, then jobs through their whole
 *    lifecycle (funds reserved, submitted, matched, contract opened, funds released, started,
 *    result, settlement decided, released, the node's reputation), 10 events a job.
 * 2. Baseline, in the same run: the log read and decoded (scanLog + decodeEvent), nothing applied.
 * 3. The replay: every service's read model rebuilt with the services' own projection code into a
 *    scratch database (replayReadModels, as `npm run audit -- replay` runs it), then digested.
 *
 * Prints events/s of both, their ratio, peak RSS and heap (sampled every 100 ms) and the digest
 * time, then one JSON line. Memory must stay bounded: the replay holds one batch of the log at a time.
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { decodeEvent, encodeEvent, EXAMPLE_EVENT_DATA, makeEvent, subjectFor, type EventData, type EventType } from '@starminer/events';
import { createTestDatabase, startNats } from '@starminer/testing';
import { connectTradeLog, type TradeLog } from '@starminer/trade-log';
import { numberOption } from '../cli-options';
import { SERVICE_READ_MODELS } from '../audit/replay/read-models';
import { replayReadModels } from '../audit/replay/replay';
import { scanLog } from '../audit/shared/log-reader';
import type { Progress } from '../audit/shared/progress';

const MIB = 1024 * 1024;
/** Publishes in flight at once while the bench writes the log. */
const PUBLISH_WINDOW = 2_000;
/** Events of one job's lifecycle as the bench writes it. */
const EVENTS_PER_JOB = 10;
const AGPU = 10n ** 18n;
const quiet: Progress = { update: () => undefined, stop: () => undefined };

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { events: { type: 'string' }, nodes: { type: 'string' }, orgs: { type: 'string' } } });
  const target = numberOption(values, 'events', 1_000_000, { min: 1_000, max: 5_000_000 });
  const nodeCount = numberOption(values, 'nodes', 1_000, { min: 1, max: 100_000 });
  const orgCount = numberOption(values, 'orgs', 100, { min: 1, max: 10_000 });
  console.log(`bench:audit on ${cpus().length} cores (load ${loadavg().map((l) => l.toFixed(2)).join(' ')}): ${target} events, ${nodeCount} nodes, ${orgCount} orgs`);
  const nats = await startNats();
  const db = await createTestDatabase();
  const log = await connectTradeLog({ servers: nats.url, name: 'bench-audit', aggregateCacheSize: 0 });
  try {
    await log.ensureStream();
    const writeStart = performance.now();
    const written = await writeMarket(log, target, nodeCount, orgCount);
    const writeSec = (performance.now() - writeStart) / 1000;
    console.log(`wrote ${written} events in ${writeSec.toFixed(1)} s (${Math.round(written / writeSec)}/s)`);

    const memory = sampleMemory();
    const scanStart = performance.now();
    let decoded = 0;
    await scanLog(log, {}, (batch) => {
      for (const m of batch) {
        decodeEvent(m.data);
        decoded += 1;
      }
    });
    const scanSec = (performance.now() - scanStart) / 1000;
    const scanMemory = memory.take();
    const scanRate = decoded / scanSec;
    console.log(`baseline: read and decoded ${decoded} events in ${scanSec.toFixed(1)} s: ${Math.round(scanRate)} events/s, peak RSS ${scanMemory.rssMiB} MiB`);

    const lastSeq = await log.lastSeq();
    const targets = SERVICE_READ_MODELS.flatMap((s) => s.models.map((model) => ({ service: s.service, model, toSeq: lastSeq })));
    const replayMemory = sampleMemory();
    const replayStart = performance.now();
    const replayCpu = process.cpuUsage();
    const replayed = await replayReadModels(log, db.url, SERVICE_READ_MODELS, targets, quiet);
    const replaySec = (performance.now() - replayStart) / 1000;
    const cpu = process.cpuUsage(replayCpu);
    const replayCpuSec = (cpu.user + cpu.system) / 1e6;
    const peak = replayMemory.take();
    await replayed.close();
    const replayRate = replayed.events / replaySec;
    const rows = replayed.digests.reduce((n, d) => n + d.digest.tables.reduce((m, t) => m + t.rows, 0), 0);
    console.log(`replay: ${replayed.events} events into ${targets.length} read models (${rows} rows, digested) in ${replaySec.toFixed(1)} s: ${Math.round(replayRate)} events/s, ${replayed.parkedCount} set aside`);
    console.log(`of which the digests of ${rows} rows: ${(replayed.digestMs / 1000).toFixed(1)} s`);
    console.log(`the replay's own CPU: ${replayCpuSec.toFixed(1)} s of ${replaySec.toFixed(1)} s (the rest: Postgres and NATS, on the same cores)`);
    console.log(`time in each read model's transactions (overlapping): ${Object.entries(replayed.applyMs).map(([m, ms]) => `${m} ${ms} ms`).join(', ')}`);
    console.log(`peak RSS ${peak.rssMiB} MiB, peak heap ${peak.heapMiB} MiB; replay / baseline rate ${(replayRate / scanRate).toFixed(3)}`);
    console.log(
      JSON.stringify({
        bench: 'audit',
        events: replayed.events,
        readModels: targets.length,
        rows,
        baselineEventsPerSec: Math.round(scanRate),
        replayEventsPerSec: Math.round(replayRate),
        ratio: Number((replayRate / scanRate).toFixed(3)),
        replaySec: Number(replaySec.toFixed(1)),
        replayCpuSec: Number(replayCpuSec.toFixed(1)),
        digestSec: Number((replayed.digestMs / 1000).toFixed(1)),
        peakRssMiB: peak.rssMiB,
        peakHeapMiB: peak.heapMiB,
        parked: replayed.parkedCount,
        applyMs: replayed.applyMs,
        cores: cpus().length,
      }),
    );
  } finally {
    await log.close();
    await db.drop();
    await nats.stop();
  }
}

/** Peak RSS and heap, sampled every 100 ms until take(). */
function sampleMemory(): { take(): { rssMiB: number; heapMiB: number } } {
  let rss = 0;
  let heap = 0;
  const sample = (): void => {
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss);
    heap = Math.max(heap, m.heapUsed);
  };
  sample();
  const timer = setInterval(sample, 100);
  return {
    take() {
      sample();
      clearInterval(timer);
      return { rssMiB: Math.round(rss / MIB), heapMiB: Math.round(heap / MIB) };
    },
  };
}

/** The market's events, each through the catalogue's encoder onto its aggregate's subject; returns how many. */
async function writeMarket(log: TradeLog, target: number, nodeCount: number, orgCount: number): Promise<number> {
  let count = 0;
  let inFlight: Promise<unknown>[] = [];
  const at = Date.parse('2026-11-01T00:00:00Z');
  const put = async <T extends EventType>(kind: Parameters<typeof subjectFor>[0], id: string, type: T, data: EventData<T>, correlationId: string): Promise<void> => {
    count += 1;
    const subject = subjectFor(kind, id, log.subjectPrefix);
    const event = makeEvent(type, data, { id: `e${String(count).padStart(12, '0')}`, aggregateId: id, occurredAt: new Date(at + count * 10).toISOString(), correlationId, causationId: correlationId, actor: 'service:bench' });
    inFlight.push(log.js.publish(subject, encodeEvent(event, subject)));
    if (inFlight.length >= PUBLISH_WINDOW) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  };
  const addr = (n: number, tag: string): string => `0x${tag}${n.toString(16).padStart(38, '0')}`;
  const ex = EXAMPLE_EVENT_DATA;
  for (let o = 0; o < orgCount; o += 1) await put('account', `org-${o}`, 'OrgRegistered', { ...ex.OrgRegistered, orgId: `org-${o}`, accountAddress: addr(o, '11'), custodyIndex: o + 1 }, `org-${o}`);
  for (let n = 0; n < nodeCount; n += 1) {
    const nodeId = `node-${n}`;
    await put('node', nodeId, 'NodeRegistered', { ...ex.NodeRegistered, nodeId, nodeAddress: addr(n, '22'), region: n % 2 ? 'eu-west' : 'us-east' }, nodeId);
    await put('node', nodeId, 'NodeAvailabilityChanged', { nodeId, online: true, reason: 'registered' }, nodeId);
  }
  const costWei = AGPU / 30n;
  for (let j = 0; count + EVENTS_PER_JOB <= target; j += 1) {
    const jobId = `job-${j}`;
    const orgId = `org-${j % orgCount}`;
    const n = j % nodeCount;
    const nodeId = `node-${n}`;
    const nodeAddress = addr(n, '22');
    const requesterAddress = addr(j % orgCount, '11');
    await put('account', orgId, 'FundsReserved', { orgId, jobId, amountWei: 50n * AGPU }, jobId);
    await put('job', jobId, 'JobSubmitted', { ...ex.JobSubmitted, jobId, orgId, requesterAddress }, jobId);
    await put('job', jobId, 'JobMatched', { ...ex.JobMatched, jobId, nodeId, nodeAddress, costWei, quote: { costWei: costWei.toString() }, receipt: { jobId, engineVersion: ex.JobMatched.engineVersion } }, jobId);
    await put('contract', jobId, 'ContractOpened', { ...ex.ContractOpened, jobId, requesterAddress, nodeAddress, escrowWei: costWei, chainJobId: `0x${j.toString(16).padStart(64, '0')}` }, jobId);
    await put('account', orgId, 'FundsReleased', { orgId, jobId, amountWei: 50n * AGPU, reason: 'contracted' }, jobId);
    await put('contract', jobId, 'JobStarted', { jobId, nodeId }, jobId);
    await put('contract', jobId, 'ResultSubmitted', { ...ex.ResultSubmitted, jobId, nodeId }, jobId);
    await put('contract', jobId, 'SettlementDecided', { jobId, outcome: 'release', reason: 'result and proof verified' }, jobId);
    await put('contract', jobId, 'ContractReleased', { jobId, nodeAddress, amountWei: costWei, txHash: ex.ContractReleased.txHash }, jobId);
    await put('node', nodeId, 'NodeReputationChanged', { nodeId, reputation: 0.5 + (j % 50) / 100, jobId, reason: 'job released' }, jobId);
  }
  await Promise.all(inFlight);
  return count;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench:audit failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
