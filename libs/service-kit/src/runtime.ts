import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { Client } from 'pg';
import { DataSource, type EntitySchema, type MixedList } from 'typeorm';
import { decodeEvent, subjectFor, type AggregateKind, type TradeEvent } from '@starminer/events';
import type { Draft } from '@starminer/domain';
import { connectTradeLog, ProjectionRunner, type StoredEvent, type TradeLog } from '@starminer/trade-log';
import { commandSubject } from './commands';
import type { BaseConfig } from './config';
import { envelope, type Causation } from './events';

export interface DeciderLike<C, S> {
  decide(command: C, state: S): Draft[];
  evolve(state: S, event: Pick<TradeEvent, 'type' | 'data'>): S;
  initialState(): S;
}

export interface RuntimeOptions {
  /** The service's name: its Postgres schema, its NATS connection name, its actor. */
  readonly service: string;
  readonly config: BaseConfig;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  readonly entities?: MixedList<Function | string | EntitySchema>;
}

/**
 * What every service holds at its edge: one NATS connection for commands, the trade log, and its
 * own Postgres schema. Market rules stay in the deciders; this only loads, decides and appends.
 */
export class ServiceRuntime {
  private constructor(
    readonly service: string,
    readonly config: BaseConfig,
    readonly nc: NatsConnection,
    readonly tradeLog: TradeLog,
    readonly dataSource: DataSource | undefined,
  ) {}

  static async start(opts: RuntimeOptions): Promise<ServiceRuntime> {
    const { config, service } = opts;
    const nc = await connect({ servers: config.NATS_URL, name: `${service}-commands` });
    const tradeLog = await connectTradeLog({
      servers: config.NATS_URL,
      name: service,
      streamName: config.TRADE_STREAM,
      subjectPrefix: config.TRADE_SUBJECT_PREFIX,
    });
    await tradeLog.ensureStream();
    let dataSource: DataSource | undefined;
    if (opts.entities) {
      await ensureSchema(config.DATABASE_URL, service);
      dataSource = new DataSource({
        type: 'postgres',
        url: config.DATABASE_URL,
        schema: service,
        entities: opts.entities,
        // Read models are disposable: rebuilt from the log, so their tables follow the entities.
        synchronize: true,
        poolSize: 5,
      });
      await dataSource.initialize();
    }
    const runtime = new ServiceRuntime(service, config, nc, tradeLog, dataSource);
    // The log's connection gives up after its bounded reconnects: a service without its log is
    // of no use, so it exits and its supervisor (the stack, Kubernetes) starts it again.
    void tradeLog.closed().then((err) => {
      if (runtime.closing) return;
      console.error(`[${service}] the trade log connection closed${err ? `: ${err.message}` : ''}; exiting`);
      process.exit(1);
    });
    return runtime;
  }

  private closing = false;

  get db(): DataSource {
    if (!this.dataSource) throw new Error(`${this.service} has no read model`);
    return this.dataSource;
  }

  subject(kind: AggregateKind, id: string): string {
    return subjectFor(kind, id, this.config.TRADE_SUBJECT_PREFIX);
  }

  filter(kind: AggregateKind): string {
    return `${this.config.TRADE_SUBJECT_PREFIX}.${kind}.>`;
  }

  /**
   * The filter for a consumer of several aggregate kinds. nats-server before 2.10 (Debian 12
   * ships 2.9) takes one filter subject per consumer, so several kinds read the whole log and
   * skip the rest; the apply functions ignore event types they do not project.
   */
  filterOf(kinds: readonly AggregateKind[]): string[] {
    return kinds.length === 1 ? [this.filter(kinds[0])] : [`${this.config.TRADE_SUBJECT_PREFIX}.>`];
  }

  commandSubject(service: string, verb: string): string {
    return commandSubject(this.config.COMMAND_SUBJECT_PREFIX, service, verb);
  }

  /** Load, decide, append (with optimistic concurrency and a bounded retry), then answer. */
  async execute<C, S>(kind: AggregateKind, id: string, decider: DeciderLike<C, S>, command: C, causation: Causation): Promise<{ events: TradeEvent[]; seqs: number[]; state: S }> {
    const result = await this.tradeLog.handleCommand<C, S>({
      subject: this.subject(kind, id),
      initialState: decider.initialState(),
      evolve: (s: S, e: StoredEvent['event']) => decider.evolve(s, e as TradeEvent),
      decide: (c: C, s: S) => envelope(decider.decide(c, s), id, causation),
      command,
      decode: decodeEvent,
    });
    return { events: result.events as TradeEvent[], seqs: result.seqs, state: result.state };
  }

  /** The current state of one aggregate instance, folded from its events. */
  async load<S>(kind: AggregateKind, id: string, decider: Pick<DeciderLike<unknown, S>, 'evolve' | 'initialState'>): Promise<{ state: S; events: TradeEvent[] }> {
    const list = await this.events(kind, id);
    return { state: list.reduce((s, e) => decider.evolve(s, e), decider.initialState()), events: list };
  }

  /** The events of one aggregate instance, in order (for edges that need more than a decider's state). */
  async events(kind: AggregateKind, id: string): Promise<TradeEvent[]> {
    const { events } = await this.tradeLog.readSubject(this.subject(kind, id), { decode: decodeEvent });
    return events.map((e) => e.event as TradeEvent);
  }

  projection(name: string, filterSubjects: string[], apply: ConstructorParameters<typeof ProjectionRunner>[0]['apply'], reset?: ConstructorParameters<typeof ProjectionRunner>[0]['reset']): ProjectionRunner {
    return new ProjectionRunner({
      tradeLog: this.tradeLog,
      dataSource: this.db,
      schema: this.service,
      name,
      filterSubjects,
      decode: decodeEvent,
      apply,
      reset,
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.nc.drain().catch(() => undefined);
    await this.tradeLog.close().catch(() => undefined);
    await this.dataSource?.destroy().catch(() => undefined);
  }
}

async function ensureSchema(url: string, schema: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad schema name ${schema}`);
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } catch (err) {
    // two services starting at once may race on the same schema; it exists either way
    if (!/already exists/.test(String(err))) throw err;
  } finally {
    await client.end();
  }
}
