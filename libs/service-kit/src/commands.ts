import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { toJson } from '@starminer/events';
import { DomainError, type RefusalKind } from '@starminer/domain';

/**
 * Commands between services travel as NATS request/reply on `cmd.<service>.<verb>`, served by a
 * queue group so that any replica answers. The reply is `{ ok: true, result }` or
 * `{ ok: false, error: { code, kind, message, details } }`: a refusal crosses the wire typed.
 */
export const COMMAND_TIMEOUT_MS = 15_000;
export const COMMAND_PAYLOAD_BYTES_MAX = 256 * 1024;

export class CommandTransportError extends Error {
  override readonly name = 'CommandTransportError';
  readonly code = 'COMMAND_UNAVAILABLE';
  constructor(readonly subject: string, options?: { cause?: unknown }) {
    super(`no answer from ${subject}`, options);
  }
}

type Reply = { ok: true; result: unknown } | { ok: false; error: { code: string; kind: RefusalKind | 'internal'; message: string; details?: Record<string, unknown> } };

export function commandSubject(prefix: string, service: string, verb: string): string {
  return `${prefix}.${service}.${verb}`;
}

export function serveCommand<P, R>(nc: NatsConnection, subject: string, handler: (payload: P) => Promise<R>, log: (msg: string) => void = () => {}): Subscription {
  const sub = nc.subscribe(subject, { queue: subject });
  void (async () => {
    for await (const msg of sub) {
      let reply: Reply;
      try {
        const payload = JSON.parse(msg.string()) as P;
        reply = { ok: true, result: await handler(payload) };
      } catch (err) {
        if (err instanceof DomainError) {
          reply = { ok: false, error: { code: err.code, kind: err.kind, message: err.message, details: err.details } };
        } else {
          log(`command ${subject} failed: ${(err as Error).stack ?? String(err)}`);
          reply = { ok: false, error: { code: 'INTERNAL', kind: 'internal', message: (err as Error).message ?? 'internal error' } };
        }
      }
      msg.respond(toJson(reply));
    }
  })();
  return sub;
}

export class RemoteInternalError extends Error {
  override readonly name = 'RemoteInternalError';
  readonly code = 'INTERNAL';
}

export async function sendCommand<R>(nc: NatsConnection, subject: string, payload: unknown, timeoutMs = COMMAND_TIMEOUT_MS): Promise<R> {
  const body = toJson(payload);
  if (body.length > COMMAND_PAYLOAD_BYTES_MAX) throw new DomainError('PAYLOAD_TOO_LARGE', `a command is at most ${COMMAND_PAYLOAD_BYTES_MAX} bytes`);
  let raw: string;
  try {
    raw = (await nc.request(subject, body, { timeout: timeoutMs })).string();
  } catch (cause) {
    throw new CommandTransportError(subject, { cause });
  }
  const reply = JSON.parse(raw) as Reply;
  if (reply.ok) return reply.result as R;
  if (reply.error.kind === 'internal') throw new RemoteInternalError(`${subject}: ${reply.error.message}`);
  throw new DomainError(reply.error.code as never, reply.error.message, reply.error.details ?? {});
}
