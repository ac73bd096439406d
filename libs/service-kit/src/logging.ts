import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestMethod, type DynamicModule, type LoggerService, type LogLevel as NestLogLevel } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { pino, type DestinationStream, type LevelWithSilent, type Logger, type LoggerOptions } from 'pino';
import { pinoHttp, type HttpLogger } from 'pino-http';
import { currentJobId, currentTraceId } from '@starminer/telemetry';

/** LOG_LEVEL: pino's levels, most verbose first, and `silent`. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const satisfies readonly LevelWithSilent[];
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** LOG_FORMAT: JSON lines for a log collector (the default), or pino-pretty's readable lines for the dev stack. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LogSettings {
  /** Every line says which service wrote it. */
  readonly service: string;
  readonly level: LogLevelName;
  readonly format: LogFormat;
}

/** Request headers that carry credentials: API keys and the operator token, node signatures, cookies. */
export const SECRET_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'x-api-key', 'x-node-signature'] as const;
export const REDACTED = '[redacted]';

/**
 * Probes that Kubernetes and Prometheus call every few seconds: their request lines go out at
 * debug, not info, unless they fail (a failing probe is worth a line; the probe period bounds them).
 */
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/health/live', '/health/ready', '/metrics']);
/**
 * A provider agent's routine calls: its long polls for assignments and its heartbeats. A fleet of
 * thousands makes hundreds a second; answered (below 400) they are logged at debug, as probes are,
 * and counted by the HTTP metrics; refused or failed, as any request.
 */
export const ROUTINE_AGENT_CALL = /^\/v1\/providers\/nodes\/[^/]+\/(assignments|heartbeat)$/;

/** A caller's X-Request-Id is kept only when it is this short and plain (it is written into every line of the request). */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const REQUEST_ID_HEADER = 'x-request-id';

/** The pino instance a service's Nest logger, its request logs and its own code write through. */
export const SERVICE_LOGGER = Symbol('SERVICE_LOGGER');

/**
 * The job and the trace a line belongs to, read where the line is written (pino's mixin). A new
 * object each time: pino merges the line's own fields into it.
 */
function workContext(): { traceId?: string; jobId?: string } {
  const traceId = currentTraceId();
  const jobId = currentJobId();
  if (traceId === undefined) return jobId === undefined ? {} : { jobId };
  return jobId === undefined ? { traceId } : { traceId, jobId };
}

/** pino-pretty's options in the dev stack: one line per entry, `[context] message`; the stack prefixes each with the process's name. */
const PRETTY_OPTIONS = { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service,context', messageFormat: '{if context}[{context}] {end}{msg}', singleLine: true };

/**
 * pino's options for a service: level labels (not numbers) and ISO times, the service on every
 * line, the job and trace ids when there are any, credentials in request logs redacted. The
 * pretty format names pino-pretty only here, so an image without dev dependencies never loads it.
 */
export function pinoOptions(s: LogSettings): LoggerOptions {
  return {
    level: s.level,
    base: { service: s.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: workContext,
    redact: { paths: SECRET_HEADERS.map((h) => `req.headers["${h}"]`), censor: REDACTED },
    ...(s.format === 'pretty' ? { transport: { target: 'pino-pretty', options: PRETTY_OPTIONS } } : {}),
  };
}

/** A service's logger, to stdout, or to `destination` (tests capture the lines; it always gets JSON). */
export function createLogger(s: LogSettings, destination?: DestinationStream): Logger {
  return destination ? pino(pinoOptions({ ...s, format: 'json' }), destination) : pino(pinoOptions(s));
}

/**
 * The pino level that the Nest log levels a caller asks for amount to (tests ask for
 * `['error', 'warn']`): the most verbose of them; none, or `false`, is silent.
 */
export function pinoLevelOf(levels: readonly NestLogLevel[] | false): LogLevelName {
  if (levels === false) return 'silent';
  const byVerbosity: readonly [NestLogLevel, LogLevelName][] = [
    ['verbose', 'trace'],
    ['debug', 'debug'],
    ['log', 'info'],
    ['warn', 'warn'],
    ['error', 'error'],
    ['fatal', 'fatal'],
  ];
  return byVerbosity.find(([nest]) => levels.includes(nest))?.[1] ?? 'silent';
}

const pathOf = (req: IncomingMessage): string => ((req as { originalUrl?: string }).originalUrl ?? req.url ?? '/').split('?', 1)[0];

/** The caller's request id when it is a plain one, else a new one; answered in X-Request-Id either way. */
function requestIdOf(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers[REQUEST_ID_HEADER];
  const id = typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/**
 * One line per HTTP request when it is answered (pino-http): method, path, headers (credentials
 * redacted), status and time, never the body; probes and an agent's answered polls and heartbeats
 * (ROUTINE_AGENT_CALL) at debug; a 5xx at error. Lines the request's
 * handlers write carry its `reqId`. Express middleware, installed before the body parsers, so requests
 * that a body parser refuses are logged too.
 */
export function httpLogger(logger: Logger): HttpLogger {
  return pinoHttp({
    logger,
    quietReqLogger: true,
    genReqId: requestIdOf,
    customLogLevel: (req, res, err) => {
      const path = pathOf(req);
      const probe = PROBE_PATHS.has(path);
      if (err || res.statusCode >= 500) return probe ? 'warn' : 'error';
      // a fleet's agents poll and beat every few seconds each: their answered calls at debug, as probes
      return probe || (res.statusCode < 400 && ROUTINE_AGENT_CALL.test(path)) ? 'debug' : 'info';
    },
    // the status is what matters of the answer; its headers are ours and say nothing new
    serializers: { res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }) },
    // on a plain 5xx pino-http makes up an Error (its own stack): the handler's error is already logged where it was caught
    customErrorObject: (_req, res, err, val: Record<string, unknown>) => (err.message === `failed with status code ${res.statusCode}` ? { res: val.res, responseTime: val.responseTime } : val),
  });
}

/**
 * nestjs-pino over the service's own logger: Nest's `Logger` calls go out through it, inside a
 * request through the request's child logger (its `reqId`). The request logging itself is
 * `httpLogger`, installed by createServiceApp ahead of the body parsers.
 */
export function serviceLoggingModule(): DynamicModule {
  return LoggerModule.forRootAsync({
    inject: [SERVICE_LOGGER],
    useFactory: (logger: Logger) => ({ pinoHttp: { logger }, useExisting: true, forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }] }),
  });
}

/** What createServiceApp's `logger` option may be: Nest log levels (the pino level they amount to), false (silent), or a logger of the caller's. */
export type ServiceLoggerOption = LoggerService | NestLogLevel[] | false;

/**
 * How a boot that failed is reported: one JSON line on stdout at error, whatever LOG_LEVEL says
 * (it may be LOG_LEVEL that failed), synchronously, since the process exits right after.
 */
export function logBootFailure(service: string, err: unknown, destination?: DestinationStream): void {
  createLogger({ service, level: 'info', format: 'json' }, destination).error({ err }, `${service} failed to boot: ${(err as Error)?.message ?? String(err)}`);
}
