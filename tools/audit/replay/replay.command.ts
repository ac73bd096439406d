import type { Argv } from 'yargs';
import type { DataSource } from 'typeorm';
import { COMMANDS, LIMITS, type ReadModelDigest } from '@starminer/events';
import { readModelChunk } from '@starminer/service-kit';
import { AuditSourceError } from '../shared/config';
import { Differences, type AuditOutcome } from '../shared/outcome';
import type { AuditCommand, AuditRun } from '../shared/run';
import { differingTables, firstDifferingRow } from './compare';
import { SERVICE_READ_MODELS, type ServiceReadModels } from './read-models';
import { replayReadModels, SCRATCH_SCHEMA_PREFIX, type ReplayTarget } from './replay';

/** How long one service may take to digest its read models (it reads every row). */
export const LIVE_DIGEST_TIMEOUT_MS = 120_000;

interface ReplayArgs {
  compare: boolean;
  service?: string[];
}

/**
 * `replay`: rebuilds every service's read model from the log into scratch schemas with the
 * services' own projection code and prints a digest per read model. With --compare (the default)
 * each service first reports the digest of its live read model and its checkpoint; the replay stops
 * at that checkpoint, and the two must be equal: a difference names the table and its first
 * differing row on both sides.
 */
export const replayCommand: AuditCommand<ReplayArgs> = {
  command: 'replay',
  describe: "rebuild every service's read model from the log with the services' own code; compare digests with the live services",
  options: (y: Argv) =>
    y
      .option('compare', { type: 'boolean', default: true, describe: "compare with each service's live read model (--no-compare: only print the replay's digests, to the log's end)" })
      .option('service', { type: 'string', array: true, choices: SERVICE_READ_MODELS.map((s) => s.service), describe: 'only these services (default: all)' }),
  async run(run: AuditRun, args: ReplayArgs): Promise<AuditOutcome> {
    const services = SERVICE_READ_MODELS.filter((s) => !args.service?.length || args.service.includes(s.service));
    const log = await run.openLog();
    const lastSeq = await log.lastSeq();
    const live = args.compare ? await liveDigests(run, services) : new Map<string, Map<string, ReadModelDigest>>();
    const targets: ReplayTarget[] = services.flatMap((s) =>
      s.models.map((model) => ({ service: s.service, model, toSeq: args.compare ? live.get(s.service)!.get(model.name)?.checkpoint ?? 0 : lastSeq })),
    );
    const scratch = await run.scratchDatabase();
    const replayed = await replayReadModels(log, scratch.url, services, targets, run.progress('replay', 'events'));
    try {
      const differences = new Differences();
      for (const p of replayed.parked) differences.add({ subject: `${p.service}.${p.model}`, message: `the replay could not apply #${p.seq} ${p.subject}: ${p.error}` });
      const figures: Record<string, unknown> = { events: replayed.events, lastSeq, undecodable: replayed.undecodable, parked: replayed.parkedCount, compared: args.compare };
      const models: Record<string, unknown> = {};
      for (const { service, digest } of replayed.digests) {
        models[`${service}.${digest.model}`] = { checkpoint: digest.checkpoint, tables: Object.fromEntries(digest.tables.map((t) => [t.table, { rows: t.rows, sha256: t.sha256 }])) };
        run.say(`${service}.${digest.model} @#${digest.checkpoint}: ${digest.tables.map((t) => `${t.table} ${t.rows} rows ${t.sha256.slice(0, 16)}`).join(', ')}`);
        if (!args.compare) continue;
        const liveDigest = live.get(service)!.get(digest.model);
        if (!liveDigest) {
          differences.add({ subject: `${service}.${digest.model}`, message: `${service} does not report this read model (it runs other code than this audit tool)` });
          continue;
        }
        for (const d of differingTables(service, liveDigest, digest)) {
          const row = await firstRow(run, replayed.sources.get(service)!, services.find((s) => s.service === service)!, digest.model, d.table, d.chunk);
          differences.add(row ? { ...d.difference, message: `${d.difference.message}; first differing row ${d.chunk * LIMITS.readModelChunkRows + row.index}`, expected: row.replayed, actual: row.live } : d.difference);
        }
      }
      figures.models = models;
      return differences.outcome('replay', figures);
    } finally {
      await replayed.close();
    }
  },
};

/** Each service's live digests, by service and model name (a service that does not answer: the source is unreachable). */
async function liveDigests(run: AuditRun, services: readonly ServiceReadModels[]): Promise<Map<string, Map<string, ReadModelDigest>>> {
  const bus = await run.commands();
  const out = new Map<string, Map<string, ReadModelDigest>>();
  for (const s of services) {
    run.say(`asking ${s.service} for the digest of its live read models`);
    const reply = await bus.send(COMMANDS[s.service].readModelDigest, {}, { timeoutMs: LIVE_DIGEST_TIMEOUT_MS }).catch((err: unknown) => {
      throw new AuditSourceError(`${s.service} did not report its read models (${(err as Error).message}); --no-compare replays without it`);
    });
    out.set(s.service, new Map(reply.models.map((m) => [m.model, m])));
  }
  return out;
}

/** The first differing row of a table: the live service's chunk against the replay's. */
async function firstRow(run: AuditRun, ds: DataSource, s: ServiceReadModels, model: string, table: string, chunk: number): Promise<ReturnType<typeof firstDifferingRow>> {
  const def = s.models.find((m) => m.name === model)!;
  const live = await (await run.commands()).send(COMMANDS[s.service].readModelChunk, { model, table, chunk });
  const replayed = await readModelChunk(ds, `${SCRATCH_SCHEMA_PREFIX}${s.service}`, def, table, chunk);
  return firstDifferingRow(live, replayed);
}
