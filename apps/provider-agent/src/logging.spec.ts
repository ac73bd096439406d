import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { withJobId } from '@starminer/telemetry';
import { AgentConfigError, loadAgentConfig } from './config';
import { agentLogger, logFnOf, type AgentLogSettings } from './logging';

type Line = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- a log line of any shape

const ENV = { GATEWAY_URL: 'http://127.0.0.1:8080', CHAIN_ID: '31337', AGENT_KEY_FILE: '/tmp/agent.key', GPU_MODEL: 'H100', VRAM_GIB: '80', REGION: 'eu-west', AGENT_NAME: 'rig-1' };
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';

/** The agent's log function over a captured destination: one parsed JSON line per entry. */
function captured(settings: Partial<AgentLogSettings> = {}): { log: ReturnType<typeof logFnOf>; lines: Line[] } {
  const lines: Line[] = [];
  const logger = agentLogger({ LOG_LEVEL: 'info', LOG_FORMAT: 'json', AGENT_NAME: 'rig-1', ...settings }, { write: (s: string) => lines.push(JSON.parse(s) as Line) });
  return { log: logFnOf(logger), lines };
}

describe('provider agent logs', () => {
  const contextManager = new AsyncLocalStorageContextManager();
  beforeAll(() => context.setGlobalContextManager(contextManager.enable()));
  afterAll(() => context.disable());

  it('a log call is one JSON line: level label, ISO time, service, agent, message and its fields', () => {
    const { log, lines } = captured();
    log('warn', 'heartbeat failed', { code: 'NETWORK' });
    expect(lines).toEqual([{ level: 'warn', time: expect.any(String), service: 'provider-agent', agent: 'rig-1', msg: 'heartbeat failed', code: 'NETWORK' }]);
    expect(new Date(lines[0].time).toISOString()).toBe(lines[0].time);
  });

  it('inside withJobId and an active span a line carries jobId and traceId; a field of the call wins over the context', () => {
    const { log, lines } = captured();
    const span = trace.wrapSpanContext({ traceId: TRACE_ID, spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED });
    context.with(trace.setSpan(context.active(), span), () => withJobId('job-1', () => log('info', 'workload ran', { ms: 12 })));
    withJobId('job-2', () => log('info', 'result submitted', { jobId: 'job-3' }));
    log('info', 'stopped');
    expect(lines[0]).toMatchObject({ msg: 'workload ran', traceId: TRACE_ID, jobId: 'job-1', ms: 12 });
    expect(lines[1]).toMatchObject({ msg: 'result submitted', jobId: 'job-3' });
    expect(lines[2]).not.toHaveProperty('jobId');
    expect(lines[2]).not.toHaveProperty('traceId');
  });

  it('given LOG_LEVEL=warn, then info lines are not written; given silent, nothing is', () => {
    const warn = captured({ LOG_LEVEL: 'warn' });
    warn.log('info', 'registered');
    warn.log('error', 'registration refused');
    expect(warn.lines.map((l) => l.msg)).toEqual(['registration refused']);
    const silent = captured({ LOG_LEVEL: 'silent' });
    silent.log('error', 'registration refused');
    expect(silent.lines).toEqual([]);
  });

  it('LOG_LEVEL and LOG_FORMAT default to info and json; a bad value stops the agent at boot, naming it', () => {
    expect(loadAgentConfig(ENV)).toMatchObject({ LOG_LEVEL: 'info', LOG_FORMAT: 'json' });
    expect(loadAgentConfig({ ...ENV, LOG_LEVEL: 'trace', LOG_FORMAT: 'pretty' })).toMatchObject({ LOG_LEVEL: 'trace', LOG_FORMAT: 'pretty' });
    expect(() => loadAgentConfig({ ...ENV, LOG_LEVEL: 'noisy' })).toThrow(AgentConfigError);
    expect(() => loadAgentConfig({ ...ENV, LOG_LEVEL: 'noisy' })).toThrow(/LOG_LEVEL/);
    expect(() => loadAgentConfig({ ...ENV, LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT/);
  });

  it('given LOG_FORMAT=pretty, then lines are readable text through pino-pretty, not JSON', async () => {
    const script = "const l = require('./apps/provider-agent/src/logging.ts'); l.logFnOf(l.agentLogger({ LOG_LEVEL: 'info', LOG_FORMAT: 'pretty', AGENT_NAME: 'rig-1' }))('info', 'registered', { nodeId: 'node-1' })";
    const { stdout } = await promisify(execFile)(process.execPath, ['-r', './tools/stack/register.cjs', '-e', script], { cwd: `${__dirname}/../../..`, timeout: 30_000 });
    const line = stdout.trim();
    expect(line).toMatch(/INFO.*registered/);
    expect(line).toContain('node-1');
    expect(() => JSON.parse(line)).toThrow();
  });
});
