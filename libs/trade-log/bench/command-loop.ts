/**
 * The command loop (readSubject, evolve, decide, append with the expected subject sequence):
 * commands per second and latency, sequentially and with several writers, on aggregates that
 * already hold a few events.
 *
 *   npx tsx libs/trade-log/bench/command-loop.ts [commands=2000]
 *
 * Starts its own nats-server. The last line is JSON.
 */
import { cpus, loadavg } from 'node:os';
import { startNats } from '@starminer/testing';
import type { EventEnvelope } from '@starminer/events';
import { uuidv7 } from 'uuidv7';
import { connectTradeLog, jsonDecode, jsonEncode, type TradeLog } from '../src';

/** The bench measures the command loop with made-up event types: plain JSON, no catalogue. */
const TEST_CODEC = { encode: jsonEncode, decode: jsonDecode } as const;

const COMMANDS_DEFAULT = 2_000;
const AGGREGATES = 200;
const CONCURRENCY = [1, 8] as const;

function event(aggregateId: string, n: number): EventEnvelope {
  return { id: uuidv7(), type: 'Incremented', schemaVersion: 1, aggregateId, occurredAt: new Date(0).toISOString(), correlationId: aggregateId, causationId: aggregateId, actor: 'service:bench', data: { n } };
}

async function runCommands(log: TradeLog, total: number, concurrency: number, tag: string): Promise<{ perSec: number; p50Ms: number; p99Ms: number; conflicts: number }> {
  const latencies: number[] = [];
  let next = 0;
  let conflicts = 0;
  const start = performance.now();
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const id = `${tag}${i % AGGREGATES}`;
      const t = performance.now();
      let decides = 0;
      await log.handleCommand<number, number>({
        subject: `trade.pool.${id}`,
        initialState: 0,
        evolve: (s) => s + 1,
        decide: (_c, s) => {
          decides += 1;
          return [event(id, s + 1)];
        },
        command: i,
        maxAttempts: 20,
      });
      conflicts += decides - 1;
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => Number(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(2));
  return { perSec: Math.round(total / seconds), p50Ms: at(0.5), p99Ms: at(0.99), conflicts };
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? COMMANDS_DEFAULT);
  const nats = await startNats();
  const log = await connectTradeLog({ servers: nats.url, name: 'bench-command-loop', ...TEST_CODEC });
  try {
    await log.ensureStream();
    const results: Record<string, number> = {};
    for (const c of CONCURRENCY) {
      const tag = `c${c}x`;
      // warm the aggregates with a few events each, so a load reads something
      await runCommands(log, AGGREGATES * 3, 8, tag);
      const r = await runCommands(log, total, c, tag);
      console.log(`concurrency ${c}: ${r.perSec} commands/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${r.conflicts} conflicts retried`);
      results[`concurrency${c}CommandsPerSec`] = r.perSec;
      results[`concurrency${c}P50Ms`] = r.p50Ms;
      results[`concurrency${c}P99Ms`] = r.p99Ms;
    }
    console.log(JSON.stringify({ bench: 'command-loop', commands: total, aggregates: AGGREGATES, cpus: cpus().length, loadAvg1m: Number(loadavg()[0].toFixed(1)), node: process.version, ...results }));
  } finally {
    await log.close().catch(() => undefined);
    await nats.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
