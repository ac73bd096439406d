import { readFileSync } from 'node:fs';
import type { MarketAddresses } from '@starminer/chain';
import { marketAddressesSchema } from '@starminer/service-kit';

/** Where the auditor reads from: the log (read access), the chain (an RPC), a scratch database. */
export interface AuditConfig {
  readonly natsUrl: string;
  readonly stream: string;
  readonly subjectPrefix: string;
  /** The chain, for the commands that read it (chain, anchors, prove). */
  readonly rpcUrl?: string;
  readonly chainId?: number;
  readonly addresses?: MarketAddresses;
  /** A Postgres URL the auditor may write scratch schemas into; absent = a fresh database (local server, else embedded). */
  readonly databaseUrl?: string;
  /** Plain progress lines even on a terminal, and nothing but the summary line on stdout. */
  readonly json: boolean;
}

/** The market's addresses from `--addresses` (JSON, or @file holding JSON: the addresses, or the local stack's record of them), else MARKET_ADDRESSES. */
export function parseAddresses(raw: string | undefined): MarketAddresses | undefined {
  if (raw === undefined || raw === '') return undefined;
  const text = raw.startsWith('@') ? readFileSync(raw.slice(1), 'utf8') : raw;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AuditUsageError('--addresses must be JSON (or @file holding JSON): the market\'s contract addresses');
  }
  // the local stack records `{ chainId, addresses }` (.data/chain/addresses.json): either shape is taken
  const record = json as { addresses?: unknown } | null;
  const parsed = marketAddressesSchema.safeParse(record !== null && typeof record === 'object' && 'addresses' in record ? record.addresses : json);
  if (!parsed.success) throw new AuditUsageError(`--addresses: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** A usage or configuration error: nothing was checked (exit 2). */
export class AuditUsageError extends Error {
  override readonly name = 'AuditUsageError';
}

/** A source the command needs could not be reached or read (exit 3): nothing was decided. */
export class AuditSourceError extends Error {
  override readonly name = 'AuditSourceError';
}

/** The chain settings a command needs, or a usage error naming what is missing. */
export function requireChain(cfg: AuditConfig): { rpcUrl: string; chainId: number; addresses: MarketAddresses } {
  if (!cfg.rpcUrl) throw new AuditUsageError('this command reads the chain: give --rpc (or RPC_URL)');
  if (!cfg.addresses) throw new AuditUsageError("this command reads the market's contracts: give --addresses (or MARKET_ADDRESSES)");
  return { rpcUrl: cfg.rpcUrl, chainId: cfg.chainId ?? 31337, addresses: cfg.addresses };
}
