import { Logger } from '@nestjs/common';
import { ClientNats, MessagePattern, NatsRecordBuilder, ServerNats, type CustomStrategy, type NatsContext, type NatsOptions } from '@nestjs/microservices';
import { NatsRequestJSONDeserializer } from '@nestjs/microservices/deserializers/nats-request-json.deserializer';
import { headers as natsHeaders, type Msg as NatsMsg } from 'nats';
import { firstValueFrom, timeout, TimeoutError } from 'rxjs';
import { z } from 'zod';
import { DomainError } from '@starminer/domain';
import { describeViolations, LIMITS, violationsOf, type CommandDef, type PayloadOf, type ReplyOf } from '@starminer/events';
import { aboutJob, extractTraceContext, injectTraceHeaders, openSpan, SERVICE_ATTR, SpanKind, tracingOn, withJobId, withSpan, type OpenSpan } from '@starminer/telemetry';
import { CommandTransportError, errorFromReply } from './errors';

/** How long a caller waits for a command's reply. */
export const COMMAND_TIMEOUT_MS = 15_000;
/** Reconnects to NATS wait this long between tries, forever: the trade log's connection decides when a service gives up. */
const NATS_RECONNECT_WAIT_MS = 1_000;

/**
 * Commands travel as NATS request/reply through `@nestjs/microservices`' NATS transport: a
 * handler is a controller method decorated `@CommandHandler(COMMANDS.<service>.<verb>)`, served
 * by a queue group of the service so any replica answers; a caller sends through `CommandBus`.
 * On both sides the payload is parsed by the command's schema (the caller before sending, the
 * handler before anything else runs) and the reply by its reply schema; a refusal crosses the wire
 * as `{ code, kind, message, details }` and comes back as the same DomainError.
 */
export function natsTransport(opts: { servers: string; service: string }): CustomStrategy {
  const options: NonNullable<NatsOptions['options']> = {
    servers: opts.servers,
    name: `${opts.service}-commands`,
    queue: opts.service,
    maxReconnectAttempts: -1,
    reconnectTimeWait: NATS_RECONNECT_WAIT_MS,
    deserializer: new CommandRequestDeserializer(),
  };
  return { strategy: new TracedServerNats(opts.service, options) };
}

/**
 * Nest's NATS server, with each request handled inside a span whose parent is the caller's (the
 * W3C trace context in the request's headers, written by CommandBus.send): a command's work, and
 * the events it appends, stay in the trace of whoever sent it. Off: Nest's own handling.
 */
class TracedServerNats extends ServerNats {
  /** The span of each request being handled, until its reply is published (Nest runs the handler when it subscribes, after handleMessage). */
  private readonly spans = new WeakMap<object, OpenSpan>();

  constructor(
    private readonly service: string,
    options: NonNullable<NatsOptions['options']>,
  ) {
    super(options);
  }

  override async handleMessage(channel: string, natsMsg: NatsMsg): Promise<unknown> {
    // off: Nest's own handling, no attributes built per command
    if (!tracingOn()) return super.handleMessage(channel, natsMsg);
    const span = openSpan(`command ${channel}`, { [SERVICE_ATTR]: this.service, 'messaging.destination.name': channel }, { parent: extractTraceContext(natsMsg.headers), kind: SpanKind.SERVER });
    if (!span) return super.handleMessage(channel, natsMsg);
    this.spans.set(natsMsg, span);
    try {
      return await span.run(() => super.handleMessage(channel, natsMsg));
    } catch (err) {
      span.end(err);
      throw err;
    } finally {
      if (!natsMsg.reply) span.end(); // nothing will be published
    }
  }

  override getPublisher(natsMsg: NatsMsg, id: string, ctx: NatsContext): (response: unknown) => unknown {
    const publish = super.getPublisher(natsMsg, id, ctx);
    const span = this.spans.get(natsMsg);
    if (!span) return publish;
    return (response) => {
      const err = (response as { err?: unknown } | null)?.err;
      if (err !== undefined && err !== null) {
        // a refusal or failure answered as a reply: the span says it failed (no exception: nothing was thrown here)
        const code = String((err as { code?: unknown }).code ?? 'error');
        span.setAttributes({ 'starminer.error_code': code });
        span.fail(code);
      }
      span.end();
      return publish(response);
    };
  }
}

/** What a handler receives when the request was not even JSON. */
const UNREADABLE = Symbol('unreadable-command');
type Unreadable = { readonly [UNREADABLE]: string };
const isUnreadable = (x: unknown): x is Unreadable => typeof x === 'object' && x !== null && UNREADABLE in x;

/**
 * Nest's NATS deserializer, made total: a body that is not JSON, or a plain request from a NATS
 * client that is not Nest (no packet id), still gets a reply, a typed COMMAND_INVALID, instead of
 * an unhandled rejection or silence.
 */
class CommandRequestDeserializer extends NatsRequestJSONDeserializer {
  override deserialize(value: Uint8Array, options?: Record<string, unknown>): ReturnType<NatsRequestJSONDeserializer['deserialize']> {
    const replyTo = options?.replyTo;
    let packet: { id?: string; pattern: unknown; data: unknown };
    try {
      packet = super.deserialize(value, options) as typeof packet;
    } catch (err) {
      packet = { pattern: options?.channel, data: { [UNREADABLE]: (err as Error).message } };
    }
    // refused, but with the caller's packet id kept: a Nest client only takes a reply with its id
    if (value.length > LIMITS.commandPayloadBytesMax) packet = { ...packet, data: { [UNREADABLE]: `over ${LIMITS.commandPayloadBytesMax} bytes` } };
    if (packet.id === undefined && typeof replyTo === 'string') packet = { ...packet, id: 'external' };
    return packet as ReturnType<NatsRequestJSONDeserializer['deserialize']>;
  }
}

/**
 * Marks a controller method as the handler of `def`: it is served on `def.subject`, its payload is
 * parsed by `def.payload` before the method runs (a payload that does not fit is refused with
 * COMMAND_INVALID naming each field, and the method never sees it), and what it returns is checked
 * and encoded by `def.reply`.
 */
export function CommandHandler<C extends CommandDef>(def: C): MethodDecorator {
  return (target, key, descriptor: PropertyDescriptor) => {
    const handle = descriptor.value as (payload: PayloadOf<C>, ...rest: unknown[]) => Promise<ReplyOf<C>>;
    const wrapped = async function (this: unknown, raw: unknown, ...rest: unknown[]): Promise<unknown> {
      const payload = parseCommandPayload(def, raw);
      // a command about one job: its span says so, and its log lines carry the job id
      const jobId = (payload as { jobId?: unknown }).jobId;
      const reply = await aboutJob(typeof jobId === 'string' ? jobId : undefined, () => handle.call(this, payload, ...rest));
      return z.encode(def.reply, reply);
    };
    Object.defineProperty(wrapped, 'name', { value: handle.name });
    descriptor.value = wrapped;
    MessagePattern(def.subject)(target, key, descriptor);
    return descriptor;
  };
}

export function parseCommandPayload<C extends CommandDef>(def: C, raw: unknown): PayloadOf<C> {
  if (isUnreadable(raw)) throw new DomainError('COMMAND_INVALID', `${def.subject}: the request is not a JSON command (${raw[UNREADABLE]})`);
  const parsed = def.payload.safeParse(raw);
  if (!parsed.success) {
    const violations = violationsOf(parsed.error);
    throw new DomainError('COMMAND_INVALID', `${def.subject}: ${describeViolations(violations)}`, { violations });
  }
  return parsed.data as PayloadOf<C>;
}

/** The caller's side: sends a command by its constant and waits (bounded) for its typed reply. */
export class CommandBus {
  private readonly client: ClientNats;
  private readonly logger = new Logger('command-bus');
  private readonly name: string;

  constructor(opts: { servers: string; name: string }) {
    this.name = opts.name;
    this.client = new ClientNats({ servers: opts.servers, name: `${opts.name}-bus`, maxReconnectAttempts: -1, reconnectTimeWait: NATS_RECONNECT_WAIT_MS });
  }

  async connect(): Promise<void> {
    await this.client.connect();
  }

  /** Whether the connection is up now (for readiness). */
  get connected(): boolean {
    try {
      const nc = this.client.unwrap<{ isClosed(): boolean; info?: unknown }>();
      return !nc.isClosed();
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.client.close().catch((err: Error) => this.logger.warn(`closing the command bus: ${err.message}`));
  }

  async send<C extends CommandDef>(def: C, payload: PayloadOf<C>, opts: { timeoutMs?: number } = {}): Promise<ReplyOf<C>> {
    // checked and encoded before it leaves (bigints as decimal strings), with the same refusal the handler would give
    const encoded = z.safeEncode(def.payload, payload);
    if (!encoded.success) {
      const violations = violationsOf(encoded.error);
      throw new DomainError('COMMAND_INVALID', `${def.subject}: ${describeViolations(violations)}`, { violations });
    }
    const wire = encoded.data as unknown;
    if (Buffer.byteLength(JSON.stringify(wire)) > LIMITS.commandPayloadBytesMax) {
      throw new DomainError('PAYLOAD_TOO_LARGE', `${def.subject}: a command is at most ${LIMITS.commandPayloadBytesMax} bytes`, { limit: LIMITS.commandPayloadBytesMax });
    }
    const jobId = (payload as { jobId?: unknown }).jobId;
    if (!tracingOn()) return withJobId(typeof jobId === 'string' ? jobId : undefined, () => this.request(def, wire, opts));
    return withSpan(
      `send ${def.subject}`,
      { [SERVICE_ATTR]: this.name, 'messaging.destination.name': def.subject, ...(typeof jobId === 'string' ? { 'starminer.job_id': jobId } : {}) },
      () => this.request(def, wire, opts),
      { kind: SpanKind.CLIENT },
    );
  }

  private async request<C extends CommandDef>(def: C, wire: unknown, opts: { timeoutMs?: number }): Promise<ReplyOf<C>> {
    // the trace context rides in the request's headers (the handler's span continues it); none while tracing is off
    const h = tracingOn() ? natsHeaders() : undefined;
    const data = h && injectTraceHeaders(h) ? new NatsRecordBuilder(wire).setHeaders(h).build() : wire;
    let reply: unknown;
    try {
      reply = await firstValueFrom(this.client.send(def.subject, data).pipe(timeout(opts.timeoutMs ?? COMMAND_TIMEOUT_MS)));
    } catch (err) {
      if (err instanceof TimeoutError) throw new CommandTransportError(def.subject, { cause: err });
      // a reply of ours is a plain `{ code, kind, message, details }`; an Error with a code is the
      // transport's own (a NatsError: disconnected, no responders '503', a closed connection)
      if (err !== null && typeof err === 'object' && !(err instanceof Error) && 'code' in err) throw errorFromReply(def.subject, err as Record<string, unknown>);
      throw new CommandTransportError(def.subject, { cause: err });
    }
    const parsed = def.reply.safeParse(reply);
    if (!parsed.success) throw new Error(`${def.subject} answered a reply that does not fit its schema: ${describeViolations(violationsOf(parsed.error))}`);
    return parsed.data as ReplyOf<C>;
  }
}
