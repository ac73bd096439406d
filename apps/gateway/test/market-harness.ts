import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { bytesToHex } from 'viem';
import { mnemonicToAccount, type LocalAccount } from 'viem/accounts';
import { createChainClients, DEV_MNEMONIC, deployMarket, startAnvil, type AnvilHandle, type MarketAddresses } from '@starminer/chain';
import { ensureArtifacts } from '../../../contracts/scripts/compile';
import { createTestDatabase, startNats, type TestDatabase, type TestNats } from '@starminer/testing';
import { connectTradeLog, type TradeLog } from '@starminer/trade-log';
import { ProviderClient } from '@starminer/sdk';
import { signResult } from '@starminer/chain';
import { ProviderAgent } from '../../provider-agent/src/agent';
import { realClock, registrationFor } from '../../provider-agent/src/main';
import { loadAgentConfig } from '../../provider-agent/src/config';
import { loadOrCreateNodeKey } from '../../provider-agent/src/key';
import { fileJournal } from '../../provider-agent/src/journal';
import { runWorkload } from '../../provider-agent/src/runtime';
import { createGateway } from '../src/main';
import { IntakeModule } from '../../intake/src/intake.module';
import { RegistryModule } from '../../registry/src/registry.module';
import { MatchingModule } from '../../matching/src/matching.module';
import { DeployerModule } from '../../deployer/src/deployer.module';
import { SettlementModule } from '../../settlement/src/settlement.module';

export const OPERATOR_TOKEN = 'operator-token-for-tests-0123456789';
const devKey = (index: number): `0x${string}` => bytesToHex(mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index }).getHdKey().privateKey!);

export interface Market {
  readonly gatewayUrl: string;
  readonly addresses: MarketAddresses;
  readonly chain: ReturnType<typeof createChainClients>;
  readonly anvil: AnvilHandle;
  /** A client of the log for assertions (e.g. that bad input appended nothing). */
  readonly log: TradeLog;
  /** How many events the log holds on subjects matching `filter` (e.g. `trade.job.>`). */
  count(filter: string): Promise<number>;
  startAgent(opts: { name: string; gpuModel: string; vramGiB: number; region: string; gpuCount?: number }): Promise<{ account: LocalAccount; nodeId: string; stop(): Promise<void> }>;
  stop(): Promise<void>;
}

/**
 * The whole market in one process, on real parts: a private nats-server with JetStream, a fresh
 * Postgres database, an anvil chain with the contracts deployed, and every service's Nest module
 * booted from the same environment a standalone service reads.
 */
export async function startMarket(): Promise<Market> {
  const dir = mkdtempSync(join(tmpdir(), 'starminer-market-'));
  const nats: TestNats = await startNats();
  const db: TestDatabase = await createTestDatabase();
  const anvil = await startAnvil();
  ensureArtifacts();
  const chain = createChainClients(anvil.rpcUrl, anvil.chainId);
  const [admin, deployer, settlement, minter] = [0, 1, 2, 3].map((i) => mnemonicToAccount(DEV_MNEMONIC, { addressIndex: i }));
  const addresses = await deployMarket(chain.wallet(admin), chain.publicClient, {
    admin: admin.address,
    deployer: deployer.address,
    settlement: settlement.address,
    minter: minter.address,
  });
  Object.assign(process.env, {
    NATS_URL: nats.url,
    DATABASE_URL: db.url,
    RPC_URL: anvil.rpcUrl,
    CHAIN_ID: String(anvil.chainId),
    MARKET_ADDRESSES: JSON.stringify(addresses),
    OPERATOR_TOKEN,
    DEV_MODE: 'true',
    HTTP_PORT: '0',
    DEPLOYER_PRIVATE_KEY: devKey(1),
    SETTLEMENT_PRIVATE_KEY: devKey(2),
    MINTER_PRIVATE_KEY: devKey(3),
    CUSTODY_MNEMONIC: 'legal winner thank year wave sausage worth useful legal winner thank yellow',
    ANCHOR_INTERVAL_MS: '2000',
  });
  const contexts: INestApplicationContext[] = [];
  for (const module of [RegistryModule, IntakeModule, MatchingModule, DeployerModule, SettlementModule]) {
    const ctx = await NestFactory.createApplicationContext(module as never, { logger: ['error', 'warn'] });
    ctx.enableShutdownHooks();
    contexts.push(ctx);
  }
  const gateway = await createGateway({ logger: ['error', 'warn'] });
  await gateway.listen(0, '127.0.0.1');
  const gatewayUrl = (await gateway.getUrl()).replace('[::1]', '127.0.0.1');
  const log = await connectTradeLog({ servers: nats.url, name: 'test-observer' });
  const agents: { stop(): Promise<void> }[] = [];

  return {
    gatewayUrl,
    addresses,
    chain,
    anvil,
    log,
    async count(filter) {
      const jsm = await log.jsm();
      const info = await jsm.streams.info(log.streamName, { subjects_filter: filter });
      return Object.values(info.state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
    },
    async startAgent(opts) {
      const config = loadAgentConfig({
        GATEWAY_URL: gatewayUrl,
        AGENT_KEY_FILE: join(dir, `${opts.name}.key`),
        AGENT_NAME: opts.name,
        GPU_MODEL: opts.gpuModel,
        GPU_COUNT: String(opts.gpuCount ?? 1),
        VRAM_GIB: String(opts.vramGiB),
        REGION: opts.region,
        BENCHMARK_MS: '100',
      });
      const { account } = loadOrCreateNodeKey(config.AGENT_KEY_FILE);
      const registration = registrationFor(config, account.address, { kind: 'sha256-hash-chain', score: 1000, measuredAt: new Date().toISOString() });
      const agent = new ProviderAgent({
        api: new ProviderClient({ baseUrl: gatewayUrl, account }),
        clock: realClock,
        registration,
        commandRuntime: false,
        runWorkload: (w) => runWorkload(w, { commandRuntime: false }),
        signResult: (input) => signResult(account, { addresses: { escrow: input.addresses.escrow }, chainId: input.chainId, jobId: input.jobId, resultHash: input.resultHash, proofHash: input.proofHash }),
        journal: fileJournal(join(dir, `${opts.name}.done.json`)),
        log: () => undefined,
      });
      const running = agent.run();
      const handle = {
        async stop() {
          await agent.stop();
          await running.catch(() => undefined);
        },
      };
      agents.push(handle);
      return { account, nodeId: registration.nodeId, stop: handle.stop };
    },
    async stop() {
      for (const a of agents) await a.stop();
      await gateway.close();
      for (const ctx of contexts.reverse()) await ctx.close();
      await log.close();
      await anvil.stop();
      await nats.stop();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
