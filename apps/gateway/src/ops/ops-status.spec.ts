import type { ServiceStatus } from '@starminer/events';
import { overallOf } from './ops-status';

const reader: ServiceStatus['readers'][number] = { name: 'views', kind: 'projection', state: 'running', checkpointSeq: 10, lagEvents: 0, parked: 0, critical: false, problems: [] };
const ready = (service: ServiceStatus['service'], readers: ServiceStatus['readers'] = [reader]): ServiceStatus => ({
  service,
  ready: true,
  checks: { nats: { status: 'up' }, postgres: { status: 'up' } },
  readers,
  startedAt: '2026-01-15T08:00:00.000Z',
});
const all = { services: [ready('registry'), ready('intake')], gateway: ready('gateway'), stuckCount: 0, partsRead: true };

describe('the overall verdict of the operator status', () => {
  it('given every service ready, no reader failed, nothing parked or stuck, every part read, then healthy', () => {
    expect(overallOf(all)).toBe('healthy');
  });
  it.each([
    ['a service that did not answer', { ...all, services: [ready('registry'), { service: 'intake' as const, ready: false as const, error: { code: 'COMMAND_UNAVAILABLE' as const, message: 'no answer' } }] }],
    ['a service not ready', { ...all, services: [{ ...ready('registry'), ready: false }] }],
    ['the gateway not ready', { ...all, gateway: { ...ready('gateway'), ready: false } }],
    ['a failed reader (in a service still ready)', { ...all, services: [ready('registry', [{ ...reader, state: 'failed' }])] }],
    ['a parked event of a reader that is not critical', { ...all, services: [ready('registry', [{ ...reader, parked: 1 }])] }],
    ['a parked count that could not be read', { ...all, gateway: ready('gateway', [{ ...reader, parked: null }]) }],
    ['a stuck job', { ...all, stuckCount: 1 }],
    ['the stuck jobs not read', { ...all, stuckCount: null }],
    ['a part not read (the chain)', { ...all, partsRead: false }],
  ])('given %s, then degraded', (_why, p) => {
    expect(overallOf(p)).toBe('degraded');
  });
});
