import { pino, type DestinationStream, type Level, type LevelWithSilent, type Logger } from 'pino';
import { z } from 'zod';
import { currentJobId, currentTraceId } from '@starminer/telemetry';
import type { LogFn } from './agent';

/**
 * LOG_LEVEL and LOG_FORMAT mean here what they mean for the services (pino's level names and
 * `silent`; JSON lines, or pino-pretty's readable lines in the dev stack). The agent does not load
 * the service kit (NestJS, TypeORM) for them: it runs on providers' machines.
 */
const LEVELS: readonly LevelWithSilent[] = [...(Object.keys(pino.levels.values) as Level[]), 'silent'];
export const logLevelSchema = z.enum(LEVELS).default('info');
export const logFormatSchema = z.enum(['json', 'pretty']).default('json');

export interface AgentLogSettings {
  readonly LOG_LEVEL: z.output<typeof logLevelSchema>;
  readonly LOG_FORMAT: z.output<typeof logFormatSchema>;
  readonly AGENT_NAME: string;
}

/** What the agent logs before its configuration is read (and a configuration that fails). */
export const BOOT_LOG_SETTINGS: AgentLogSettings = { LOG_LEVEL: 'info', LOG_FORMAT: 'json', AGENT_NAME: 'agent' };

/** The job and the trace a line belongs to (a new object each time: pino merges the line's fields into it). */
function workContext(): { traceId?: string; jobId?: string } {
  const traceId = currentTraceId();
  const jobId = currentJobId();
  if (traceId === undefined) return jobId === undefined ? {} : { jobId };
  return jobId === undefined ? { traceId } : { traceId, jobId };
}

/**
 * The agent's pino logger: level labels, ISO times, `service: provider-agent` and the agent's
 * name on every line, the job and trace ids when there are any. pino-pretty is named only when
 * asked for, so an install without dev dependencies never loads it; a `destination` (tests) always
 * gets JSON.
 */
export function agentLogger(s: AgentLogSettings, destination?: DestinationStream): Logger {
  const options = {
    level: s.LOG_LEVEL,
    base: { service: 'provider-agent', agent: s.AGENT_NAME },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    mixin: workContext,
  };
  if (destination) return pino(options, destination);
  if (s.LOG_FORMAT === 'pretty') return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', singleLine: true } } });
  return pino(options);
}

/** The agent loop's LogFn over a pino logger: the message, and the fields as the line's own. */
export function logFnOf(logger: Logger): LogFn {
  return (level, message, fields) => logger[level](fields ?? {}, message);
}
