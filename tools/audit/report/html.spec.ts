import { EXAMPLE_EVENT_DATA, makeEvent, type EventData, type EventType, type TradeEvent } from '@starminer/events';
import { evolveReport, initialReportState } from './fold';
import { escapeHtml, renderReportHtml } from './html';
import { reportTables } from './rows';

const HOSTILE = '<script>alert("x")</script>&\'';
let n = 0;
function ev<T extends EventType>(type: T, data: Partial<EventData<T>>, occurredAt: string): TradeEvent<T> {
  n += 1;
  return makeEvent(type, { ...EXAMPLE_EVENT_DATA[type], ...data } as EventData<T>, { id: `evt-${n}`, aggregateId: 'agg-1', occurredAt, correlationId: 'c', causationId: 'c', actor: 'service:spec' });
}

describe('report page', () => {
  it('escapes the five HTML characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('given a GPU model that is markup, then the page shows it as text in tables and charts, holds two SVGs (light, dark) per chart, and no script', async () => {
    const events = [
      ev('NodeRegistered', { nodeId: 'node-1', providerId: 'prov-1', gpuModel: HOSTILE }, '2026-11-20T10:00:00.000Z'),
      ev('JobSubmitted', { jobId: 'job-1' }, '2026-11-20T10:00:01.000Z'),
      ev('JobMatched', { jobId: 'job-1', nodeId: 'node-1' }, '2026-11-20T10:00:02.000Z'),
      ev('JobStarted', { jobId: 'job-1', nodeId: 'node-1' }, '2026-11-20T10:00:03.000Z'),
      ev('ResultSubmitted', { jobId: 'job-1', nodeId: 'node-1' }, '2026-11-20T10:01:03.000Z'),
      ev('ContractReleased', { jobId: 'job-1', amountWei: 10n ** 18n }, '2026-11-20T10:01:04.000Z'),
      ev('NodeReputationChanged', { nodeId: 'node-1', reputation: 0.6 }, '2026-11-20T10:01:05.000Z'),
    ];
    const tables = reportTables(events.reduce(evolveReport, initialReportState({ fromMs: 0, toMs: Number.POSITIVE_INFINITY })));
    const { html, charts } = await renderReportHtml({ ...tables, window: `all ${HOSTILE}`, eventsRead: events.length, writtenAt: '2026-11-28T00:00:00.000Z' });
    expect(charts).toBeGreaterThanOrEqual(8);
    expect(html.match(/<svg[\s>]/g)).toHaveLength(2 * charts);
    expect(html).not.toContain('<script');
    expect(html).toContain(escapeHtml(HOSTILE));
    expect(html).toContain('prefers-color-scheme: dark');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });
});
