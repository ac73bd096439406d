/**
 * The node guard's cost per provider call (issue 13): a signed call (EIP-191 over the request,
 * checked against the key's kept point; the first call of a key recovers it) against a node
 * session (`Authorization: NodeSession`, an HMAC-SHA256 and a constant-time compare).
 * `npm run bench:node-auth [-- --nodes 200 --calls 20]`
 *
 * It runs the gateway's own NodeSignatureGuard (apps/gateway/src/auth/guards.ts) in this process on
 * requests a fleet sends (the long poll `GET .../assignments?waitMs=8000`), signed beforehand (the
 * agents' cost, not the gateway's). The nonce upsert of the signed path is answered by a stand-in
 * that does nothing, so the figures are the guard's CPU alone: a signed call also costs a Postgres
 * write per call, which a session call does not make. Prints the figures, the ratio and one JSON line.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import type { ExecutionContext } from '@nestjs/common';
import { privateKeyToAccount } from 'viem/accounts';
import { keccak256, toHex } from 'viem';
import { signNodeRequest } from '@starminer/sdk/provider';
import { NodeSignatureGuard, type HttpRequest } from '../../apps/gateway/src/auth/guards';
import { NodeSessions } from '../../apps/gateway/src/auth/node-sessions';
import type { GatewayConfig } from '../../apps/gateway/src/gateway.config';
import { numberOption } from '../cli-options';

const ORIGIN = 'http://127.0.0.1:8080';
const CHAIN_ID = 31337;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { nodes: { type: 'string' }, calls: { type: 'string' } } });
  const nodes = numberOption(values, 'nodes', 200, { min: 1, max: 5_000 });
  const calls = numberOption(values, 'calls', 20, { min: 2, max: 1_000 });
  const config = { CHAIN_ID, GATEWAY_PUBLIC_ORIGIN: [ORIGIN], NODE_SESSION_SECRET: 'bench-secret-of-at-least-thirty-two-bytes', NODE_SESSION_TTL_SEC: 3600 } as unknown as GatewayConfig;
  // the nonce upsert answers "advanced" without a database: the guard's CPU is what is measured
  const rt = { service: 'gateway', db: { query: async () => [{ nodeAddress: 'x' }] } };
  const sessions = new NodeSessions(config);
  const guard = new NodeSignatureGuard(rt as never, config, {} as never, sessions);
  const ctx = (req: HttpRequest): ExecutionContext => ({ switchToHttp: () => ({ getRequest: () => req }) }) as unknown as ExecutionContext;

  const keys = Array.from({ length: nodes }, (_, i) => privateKeyToAccount(keccak256(toHex(`bench-node-auth/${i}`))));
  const path = (i: number) => `/v1/providers/nodes/bench-${i}/assignments?waitMs=8000`;
  process.stderr.write(`signing ${nodes * calls} requests (the agents' side, not measured)...\n`);
  const signed: HttpRequest[][] = [];
  for (const [i, key] of keys.entries()) {
    const reqs: HttpRequest[] = [];
    for (let c = 0; c < calls; c += 1) {
      const headers = await signNodeRequest(key, { chainId: CHAIN_ID, origin: ORIGIN, method: 'GET', path: path(i), nonce: String(1_000 + c) });
      reqs.push({ method: 'GET', originalUrl: path(i), headers: { ...headers } });
    }
    signed.push(reqs);
  }
  const sessionReqs = keys.map((key, i) => ({ method: 'GET', originalUrl: path(i), headers: { authorization: `NodeSession ${sessions.issue(key.address, Date.now()).token}` } }) as HttpRequest);

  const timed = async (reqs: HttpRequest[]): Promise<number> => {
    const t0 = process.hrtime.bigint();
    for (const req of reqs) if (!(await guard.canActivate(ctx(req)))) throw new Error('refused');
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  // first call of each key (recovery and the point's table), then the warm calls, interleaved across keys as a fleet's are
  const coldMs = await timed(signed.map((r) => r[0]));
  const warmReqs = Array.from({ length: calls - 1 }, (_, c) => signed.map((r) => r[c + 1])).flat();
  const warmMs = await timed(warmReqs);
  // sessions: ten times the warm signed calls (each is short, and the timer's noise is not), after a warm-up round
  await timed(sessionReqs);
  const sessionRounds = Array.from({ length: (calls - 1) * 10 }, () => sessionReqs).flat();
  const sessionMs = await timed(sessionRounds);
  for (const r of sessionReqs) if (r.nodeAddress === undefined) throw new Error('the session path set no node address');

  const perCall = (ms: number, n: number) => (ms * 1000) / n;
  const signedColdUs = perCall(coldMs, nodes);
  const signedWarmUs = perCall(warmMs, warmReqs.length);
  const sessionUs = perCall(sessionMs, sessionRounds.length);
  const ratio = signedWarmUs / sessionUs;
  console.log(`node guard, ${nodes} nodes x ${calls} calls (CPU only; a signed call also writes its nonce to Postgres):`);
  console.log(`  signed, first call of a key: ${signedColdUs.toFixed(1)} us/call`);
  console.log(`  signed, warm:                ${signedWarmUs.toFixed(1)} us/call`);
  console.log(`  session:                     ${sessionUs.toFixed(1)} us/call`);
  console.log(`  signed warm / session:       ${ratio.toFixed(1)}x`);
  console.log(JSON.stringify({ bench: 'node-auth', nodes, calls, signedColdUsPerCall: round(signedColdUs), signedWarmUsPerCall: round(signedWarmUs), sessionUsPerCall: round(sessionUs), ratioWarm: round(ratio) }));
}

const round = (x: number): number => Math.round(x * 100) / 100;

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
