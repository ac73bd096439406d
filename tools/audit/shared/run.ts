import type { Argv } from 'yargs';
import { createChainClients, type ChainPublicClient, type MarketAddresses } from '@starminer/chain';
import { CommandBus } from '@starminer/service-kit';
import { createTestDatabase } from '@starminer/testing';
import type { TradeLog } from '@starminer/trade-log';
import { AuditSourceError, requireChain, type AuditConfig } from './config';
import { openLog } from './log-reader';
import type { AuditOutcome } from './outcome';
import { startProgress, type Progress } from './progress';

/** A scratch database the auditor may write into; `release` drops it when the auditor created it. */
export interface ScratchDatabase {
  readonly url: string;
  release(): Promise<void>;
}

/**
 * What a command is handed: the configuration, and the sources it opens on first use (each opened
 * once, closed when the command ends). Commands never write to the log or the chain.
 */
export class AuditRun {
  private log?: Promise<TradeLog>;
  private chainClients?: { publicClient: ChainPublicClient; addresses: MarketAddresses; rpcUrl: string; chainId: number };
  private readonly scratches: ScratchDatabase[] = [];
  private bus?: Promise<CommandBus>;

  constructor(
    readonly cfg: AuditConfig,
    readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
  ) {}

  /** The trade log, read-only. */
  openLog(): Promise<TradeLog> {
    this.log ??= openLog(this.cfg);
    return this.log;
  }

  /** The services' commands over NATS (the read-only ones an auditor may send: digests of read models), connected once. */
  commands(): Promise<CommandBus> {
    this.bus ??= (async () => {
      const bus = new CommandBus({ servers: this.cfg.natsUrl, name: 'starminer-audit' });
      await bus.connect();
      return bus;
    })();
    return this.bus;
  }

  /** A public client of the chain and the market's addresses (usage error when --rpc or --addresses is missing). */
  chain(): { publicClient: ChainPublicClient; addresses: MarketAddresses; rpcUrl: string; chainId: number } {
    if (!this.chainClients) {
      const { rpcUrl, chainId, addresses } = requireChain(this.cfg);
      this.chainClients = { publicClient: createChainClients(rpcUrl, chainId).publicClient, addresses, rpcUrl, chainId };
    }
    return this.chainClients;
  }

  /** `--database`, else a fresh database on the local Postgres (else an embedded one), dropped at the end. */
  async scratchDatabase(): Promise<ScratchDatabase> {
    if (this.cfg.databaseUrl) return { url: this.cfg.databaseUrl, release: async () => undefined };
    try {
      const db = await createTestDatabase();
      const scratch = { url: db.url, release: () => db.drop() };
      this.scratches.push(scratch);
      return scratch;
    } catch (err) {
      throw new AuditSourceError(`no scratch database: give --database, or run Postgres on 127.0.0.1:5432 (${(err as Error).message})`);
    }
  }

  /** A progress bar (terminal) or progress lines (pipe, log, --json) on stderr. */
  progress(label: string, unit: string): Progress {
    return startProgress(label, unit, { stream: this.stderr, plain: this.cfg.json });
  }

  /** A line for the auditor on stderr (stdout holds only the summary line). */
  say(line: string): void {
    this.stderr.write(`${line}\n`);
  }

  async close(): Promise<void> {
    for (const s of this.scratches.splice(0)) await s.release().catch(() => undefined);
    const bus = this.bus;
    this.bus = undefined;
    if (bus) await (await bus.catch(() => undefined))?.close();
    const log = this.log;
    this.log = undefined;
    if (log) await (await log.catch(() => undefined))?.close().catch(() => undefined);
  }
}

/** One audit command: its yargs shape and what it runs. */
export interface AuditCommand<A = Record<string, unknown>> {
  /** yargs' command string: `replay`, `prove <event>`. */
  readonly command: string;
  readonly describe: string;
  options(y: Argv): Argv;
  run(run: AuditRun, args: A): Promise<AuditOutcome>;
}
