/**
 * `npm start`: the whole market on this machine, state under .data/ (STARMINER_DATA_DIR), until Ctrl-C.
 * Ports: STARMINER_NATS_PORT (4322), STARMINER_PG_PORT (5433), STARMINER_ANVIL_PORT (8545),
 * STARMINER_GATEWAY_PORT (8080), STARMINER_SERVICES_PORT (9101: the other services' health and metrics
 * on 9101..9105). DATABASE_URL, when set, replaces the embedded Postgres.
 */
import { join } from 'node:path';
import { DEFAULT_PORTS, REPO_ROOT, StackError, startStack, type Stack } from './stack';
import { ensureConsoleBuilt } from '../build/console';
import { NatsServerMissing } from './nats-binary';

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${name} must be a TCP port, got ${raw}`);
  return n;
}

async function main(): Promise<void> {
  const dataDir = process.env.STARMINER_DATA_DIR ?? join(REPO_ROOT, '.data');
  const ports = {
    nats: port('STARMINER_NATS_PORT', DEFAULT_PORTS.nats),
    postgres: port('STARMINER_PG_PORT', DEFAULT_PORTS.postgres),
    anvil: port('STARMINER_ANVIL_PORT', DEFAULT_PORTS.anvil),
    gateway: port('STARMINER_GATEWAY_PORT', DEFAULT_PORTS.gateway),
    services: port('STARMINER_SERVICES_PORT', DEFAULT_PORTS.services),
  };
  console.log(`[stack] starting StarMiner with its state in ${dataDir}`);
  let stack: Stack | undefined;
  let stopping = false;
  const aborter = new AbortController();
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`\n[stack] ${signal}: stopping (agents, services, chain, database, NATS)...`);
    if (!stack) {
      aborter.abort(new Error(`${signal} during start-up`)); // startStack stops what it started, then main() rejects
      return;
    }
    void (async () => {
      await stack?.stop();
      console.log('[stack] stopped; `npm start` resumes from the same state');
      process.exit(0);
    })();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  // the gateway serves the web console at /app/: built here when missing or older than its sources
  ensureConsoleBuilt((line) => console.log(`[stack] ${line}`));
  stack = await startStack({ dataDir, ports, signal: aborter.signal });
  console.log(
    [
      '',
      '================ StarMiner is running ================',
      `gateway        ${stack.gatewayUrl}   (OpenAPI: ${stack.gatewayUrl}/docs)`,
      `console        ${stack.gatewayUrl}/app/   (sign in with the demo API key; the operator page takes the operator token)`,
      `operator token ${stack.operatorToken}`,
      `demo API key   ${stack.demoApiKey}`,
      `demo account   ${stack.demoOrg.accountAddress}`,
      `chain          ${stack.rpcUrl} (chain id ${stack.chainId}), AGPU ${stack.addresses.token}`,
      `NATS           ${stack.natsUrl}`,
      `audit          NATS_URL=${stack.natsUrl} RPC_URL=${stack.rpcUrl} CHAIN_ID=${stack.chainId} MARKET_ADDRESSES=@${join(dataDir, 'chain', 'addresses.json')} npm run audit -- replay   (docs/AUDIT.md)`,
      '',
      'try:',
      `  curl -s -H "Authorization: Bearer ${stack.demoApiKey}" ${stack.gatewayUrl}/v1/accounts/me`,
      'Ctrl-C stops everything; the next `npm start` resumes.',
      '======================================================',
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  if (err instanceof Error && /during start-up/.test(err.message)) {
    console.log(`[stack] stopped (${err.message}); \`npm start\` resumes from the same state`);
    process.exit(0);
  }
  if (err instanceof NatsServerMissing) {
    console.error(`[stack] ${err.message}`);
    process.exit(2);
  }
  if (err instanceof StackError) {
    // a condition the launcher recognised: its message says what to do, a stack trace would not help
    console.error(`[stack] failed to start (${err.code}): ${err.message}`);
    process.exit(1);
  }
  console.error(`[stack] failed to start: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
