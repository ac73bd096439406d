import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import type { LocalAccount } from 'viem/accounts';
import { createChainClients, signResult, type AnvilHandle, type MarketAddresses } from '@starminer/chain';
import { ensureArtifacts } from '../../../contracts/scripts/compile';
import { countEvents, startTestInfra, OPERATOR_TOKEN as TEST_OPERATOR_TOKEN, type TestInfra } from '@starminer/service-testing';
import { createServiceApp, listen, stopStep } from '@starminer/service-kit';
import { tracedFetch } from '@starminer/telemetry';
import type { TradeLog } from '@starminer/trade-log';
import { decodeEvent, jobUpdateOf, subjectFor, type JobStatus, type JobUpdate, type TradeEvent } from '@starminer/events';
import { createProviderClient } from '@starminer/sdk/provider';
import { ProviderAgent, type AgentDeps } from '../../provider-agent/src/agent';
import { realClock, registrationFor } from '../../provider-agent/src/main';
import { loadAgentConfig } from '../../provider-agent/src/config';
import { loadOrCreateNodeKey } from '../../provider-agent/src/key';
import { fileJournal } from '../../provider-agent/src/journal';
import { runWorkload, runsLong } from '../../provider-agent/src/runtime';
import type { WorkloadResult } from '@starminer/domain';
import { createGateway } from '../src/main';
import { servedDocument, validatingFetch, type ValidatingFetch } from './openapi-validation';
import { IntakeModule } from '../../intake/src/intake.module';
import { CronTriggersTicker } from '../../intake/src/vault-triggers/cron-triggers.ticker';
import { RegistryModule } from '../../registry/src/registry.module';
import { MatchingModule } from '../../matching/src/matching.module';
import { DeployerModule } from '../../deployer/src/deployer.module';
import { SettlementModule } from '../../settlement/src/settlement.module';

export const OPERATOR_TOKEN = TEST_OPERATOR_TOKEN;
/** The stack's TypeScript hook: a workload worker thread loads the domain library's .ts through it. */
const REGISTER_HOOK = join(__dirname, '..', '..', '..', 'tools', 'stack', 'register.cjs');

export interface Market {
  readonly gatewayUrl: string;
  /** Each service's HTTP (health and metrics), by name. */
  readonly serviceUrls: Readonly<Record<string, string>>;
  readonly infra: TestInfra;
  readonly addresses: MarketAddresses;
  readonly chain: ReturnType<typeof createChainClients>;
  readonly anvil: AnvilHandle;
  /** A client of the log for assertions (e.g. that bad input appended nothing). */
  readonly log: TradeLog;
  /** How many events the log holds on subjects matching `filter` (e.g. `trade.job.>`). */
  count(filter: string): Promise<number>;
  /** A provider agent in this process; keyFile holds its node key (a 0x private key), as an operator's agent keeps it. */
  /**
   * A provider agent in this process. `stallWorkloads`: its jobs never finish (a long job) until it
   * is killed. `kill()`: as if its process died (SIGKILL): from then on none of its requests reach
   * the gateway (no heartbeat, no poll, no result) and a stalled job ends unsubmitted.
   */
  startAgent(opts: {
    name: string;
    gpuModel: string;
    vramGiB: number;
    region: string;
    gpuCount?: number;
    stallWorkloads?: boolean;
    /** Registers as a TEE node. */
    tee?: boolean;
    /** A TEE node's attestation source (as ATTESTATION_COMMAND is in production): its report goes with each result. */
    attest?: AgentDeps['attest'];
    /** Runs `command` workloads on the host (ENABLE_COMMAND_RUNTIME) and registers the runtime. */
    commandRuntime?: boolean;
    /**
     * Test only, a dishonest node: what it does to each result it computed before it signs and
     * submits it (redundancy specs: a perturbed output, its hash recomputed so the signature holds).
     */
    tamper?: (result: WorkloadResult) => WorkloadResult;
  }): Promise<{
    account: LocalAccount;
    nodeId: string;
    keyFile: string;
    stop(): Promise<void>;
    kill(): Promise<void>;
  }>;
  /**
   * A fetch that checks every answer of the gateway against the OpenAPI document it serves
   * (`api.fetch`; the agents call through it too); a spec asserts `api.take()` is empty.
   */
  readonly api: ValidatingFetch;
  /** The gateway's application (its runtime, its database), for specs that look behind the API. */
  readonly gateway: INestApplication;
  /** Stops one service, as an outage would (its commands then go unanswered). */
  stopService(name: ServiceName): Promise<void>;
  /** Stops one service and starts it again on the same log, database and chain, as a restart would. */
  restartService(name: ServiceName): Promise<INestApplication>;
  /** One tick of intake's vault schedule at `nowMs` (its clock, driven by the spec): the slots it fired. */
  tickVaultSchedules(nowMs: number): Promise<number>;
  stop(): Promise<void>;
}

const SERVICES = {
  registry: RegistryModule,
  intake: IntakeModule,
  matching: MatchingModule,
  deployer: DeployerModule,
  settlement: SettlementModule,
} as const;
export type ServiceName = keyof typeof SERVICES;

/**
 * The whole market in one process, on real parts: a private nats-server with JetStream, a fresh
 * Postgres database, an anvil chain with the contracts deployed, and every service's Nest module
 * booted from the same environment a standalone service reads.
 */
export async function startMarket(opts: { env?: Record<string, string>; services?: readonly ServiceName[] } = {}): Promise<Market> {
  const dir = mkdtempSync(join(tmpdir(), 'starminer-market-'));
  ensureArtifacts();
  const infra = await startTestInfra({ chain: true });
  const anvil = infra.chain!.anvil;
  const addresses = infra.chain!.addresses;
  const chain = createChainClients(anvil.rpcUrl, anvil.chainId);
  Object.assign(process.env, infra.env, { ANCHOR_INTERVAL_MS: '2000' }, opts.env ?? {});
  const apps: INestApplication[] = [];
  const appOf: Partial<Record<ServiceName, INestApplication>> = {};
  const serviceUrls: Record<string, string> = {};
  for (const name of opts.services ?? (Object.keys(SERVICES) as ServiceName[])) {
    const app = await createServiceApp(SERVICES[name], { logger: ['error', 'warn'] });
    serviceUrls[name] = await listen(app);
    apps.push(app);
    appOf[name] = app;
  }
  const gateway = await createGateway({ logger: ['error', 'warn'] });
  const gatewayUrl = await listen(gateway);
  serviceUrls.gateway = gatewayUrl;
  const api = validatingFetch(await servedDocument(gatewayUrl), fetch);
  const log = infra.log;
  const agents: { stop(): Promise<void> }[] = [];

  return {
    gatewayUrl,
    serviceUrls,
    infra,
    addresses,
    chain,
    anvil,
    log,
    count: (filter) => countEvents(log, filter),
    api,
    gateway,
    async stopService(name) {
      const app = appOf[name];
      if (!app) return;
      delete appOf[name];
      apps.splice(apps.indexOf(app), 1);
      await app.close();
    },
    async restartService(name) {
      const running = appOf[name];
      if (running) {
        delete appOf[name];
        apps.splice(apps.indexOf(running), 1);
        await running.close();
      }
      const app = await createServiceApp(SERVICES[name], { logger: ['error', 'warn'] });
      serviceUrls[name] = await listen(app);
      apps.push(app);
      appOf[name] = app;
      return app;
    },
    tickVaultSchedules(nowMs) {
      const intake = appOf.intake;
      if (!intake) throw new Error('intake is not running');
      return intake.get(CronTriggersTicker).tick(nowMs);
    },
    async startAgent(opts) {
      const config = loadAgentConfig({
        GATEWAY_URL: gatewayUrl,
        CHAIN_ID: String(anvil.chainId),
        AGENT_KEY_FILE: join(dir, `${opts.name}.key`),
        AGENT_NAME: opts.name,
        GPU_MODEL: opts.gpuModel,
        GPU_COUNT: String(opts.gpuCount ?? 1),
        VRAM_GIB: String(opts.vramGiB),
        REGION: opts.region,
        BENCHMARK_MS: '100',
        TEE: opts.tee ? 'true' : 'false',
        ...(opts.commandRuntime ? { ENABLE_COMMAND_RUNTIME: 'true' } : {}),
      });
      const { account } = loadOrCreateNodeKey(config.AGENT_KEY_FILE);
      const killed = new AbortController();
      const agentFetch = tracedFetch(api.fetch);
      const killableFetch: typeof fetch = (input, init) => (killed.signal.aborted ? Promise.reject(new Error(`agent ${opts.name} was killed`)) : agentFetch(input, init));
      const stalled = (): Promise<never> =>
        new Promise((_, reject) => {
          if (killed.signal.aborted) reject(new Error('killed'));
          killed.signal.addEventListener('abort', () => reject(new Error(`agent ${opts.name} was killed mid-job`)), { once: true });
        });
      const registration = registrationFor(config, account.address, { kind: 'hash-chain-sha256', score: 1000, measuredAt: new Date().toISOString() });
      const agent = new ProviderAgent({
        // as the agent does: its calls carry the trace context of its run of a job
        api: createProviderClient({ baseUrl: gatewayUrl, chainId: config.CHAIN_ID, account, fetch: killableFetch }),
        clock: realClock,
        registration,
        commandRuntime: opts.commandRuntime ?? false,
        // as the agent does: a long hash chain runs on a worker thread, never on the loop that serves the market (one process here)
        runWorkload: async (w) => {
          if (opts.stallWorkloads) return stalled();
          const result = await runWorkload(w, { commandRuntime: opts.commandRuntime ?? false, builtInOnWorker: runsLong(w), workerExecArgv: ['--require', REGISTER_HOOK] });
          return opts.tamper ? opts.tamper(result) : result;
        },
        signResult: (input) => signResult(account, { addresses: { escrow: input.addresses.escrow }, chainId: input.chainId, jobId: input.jobId, resultHash: input.resultHash, proofHash: input.proofHash }),
        journal: fileJournal(join(dir, `${opts.name}.done.json`)),
        log: () => undefined,
        attest: opts.attest,
      });
      const running = agent.run();
      const handle = {
        async stop() {
          await agent.stop();
          await running.catch(() => undefined);
        },
      };
      agents.push(handle);
      const kill = async () => {
        killed.abort();
        await handle.stop();
      };
      return { account, nodeId: registration.nodeId, keyFile: config.AGENT_KEY_FILE, stop: handle.stop, kill };
    },
    async stop() {
      // each step named in a warning while it runs past SLOW_STOP_STEP_MS: a teardown that hangs says where
      const warn = (line: string) => process.stderr.write(`market harness: ${line}\n`);
      for (const a of agents) await stopStep(warn, 'an agent', () => a.stop());
      await stopStep(warn, 'the gateway', () => gateway.close());
      for (const app of apps.reverse()) await stopStep(warn, `the ${Object.entries(appOf).find(([, a]) => a === app)?.[0] ?? 'stopped'} service`, () => app.close());
      await stopStep(warn, 'the test infrastructure', () => infra.stop());
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A job request as the market specs submit one: inference, a budget of 50 AGPU, one GPU of at
 * least 8 GiB anywhere, a short hash chain. `over` replaces fields; its `requirements` and
 * `workload` are merged into the defaults.
 */
export function jobRequest(over: { requirements?: Record<string, unknown>; workload?: Record<string, unknown>; [field: string]: unknown } = {}) {
  const { requirements, workload, ...rest } = over;
  return {
    category: 'inference',
    budgetWei: (50n * 10n ** 18n).toString(),
    urgency: 'normal',
    latencyPreference: 'normal',
    requirements: { gpuModels: [], gpuCount: 1, minVramGiB: 8, tee: false, regions: [], ...requirements },
    expectedRuntimeSec: 60,
    workload: { kind: 'hash-chain', seed: 'market', iterations: 2000, ...workload },
    ...rest,
  };
}

/** A job's updates as the log has them: its job and contract events in log order, through jobUpdateOf (what SSE, history and webhooks must show). */
export async function jobUpdatesOnLog(log: TradeLog, jobId: string): Promise<JobUpdate[]> {
  const read = async (subject: string) => (await log.readSubject(subject, { decode: decodeEvent })).events;
  const events = [...(await read(subjectFor('job', jobId))), ...(await read(subjectFor('contract', jobId)))].sort((a, b) => a.seq - b.seq);
  const out: JobUpdate[] = [];
  let status: JobStatus | undefined;
  for (const e of events) {
    const u = jobUpdateOf({ event: e.event as TradeEvent, seq: e.seq }, status);
    if (!u) continue;
    out.push(u);
    status = u.status;
  }
  return out;
}
