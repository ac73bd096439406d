import { apiError, fakeFetch, fakeSleep, json } from '../test/fake-fetch';
import { createClient } from './client';
import type { Anchor } from './types';

const BASE = 'http://gateway.test';

function client(script: Parameters<typeof fakeFetch>[0], apiKey?: string) {
  const f = fakeFetch(script);
  return { sm: createClient({ baseUrl: BASE, apiKey, fetch: f.fetch, sleep: fakeSleep().sleep }), calls: f.calls };
}

const anchor = (index: number): Anchor => ({
  index,
  fromSeq: index * 10 + 1,
  toSeq: index * 10 + 10,
  root: `0x${'ab'.repeat(32)}`,
  txHash: null,
  blockNumber: null,
  postedAt: '2026-03-01T12:00:00.000Z',
  onChain: 'verified',
});

describe('the auditor and operator calls', () => {
  it('getOpsStatus authenticates with the operator token, not the API key, and is retried as a read', async () => {
    const { sm, calls } = client([apiError(503, 'DEPENDENCY_UNAVAILABLE', 'away', { headers: { 'retry-after': '0' } }), json(200, { overall: 'healthy' })], 'sm_key');
    await expect(sm.getOpsStatus({ operatorToken: 'op-token' })).resolves.toEqual({ overall: 'healthy' });
    expect(calls.map((c) => [c.method, c.path, c.headers.authorization])).toEqual([
      ['GET', '/v1/ops/status', 'Bearer op-token'],
      ['GET', '/v1/ops/status', 'Bearer op-token'],
    ]);
  });

  it('listAnchors sends limit and cursor; anchors() walks the pages newest first until nextCursor is null', async () => {
    const { sm, calls } = client([json(200, { anchors: [anchor(3), anchor(2)], nextCursor: '2' }), json(200, { anchors: [anchor(1), anchor(0)], nextCursor: null })], undefined);
    const indexes: number[] = [];
    for await (const a of sm.anchors({ pageSize: 2 })) indexes.push(a.index);
    expect(indexes).toEqual([3, 2, 1, 0]);
    expect(calls.map((c) => c.path)).toEqual(['/v1/anchors?limit=2', '/v1/anchors?limit=2&cursor=2']);
    expect(calls[0].headers.authorization).toBeUndefined(); // public
  });
});
