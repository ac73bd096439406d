import { z } from 'zod';
import type { MarketAddresses } from '@starminer/chain';
import { addressSchema } from '@starminer/events';
import { LOG_FORMATS, LOG_LEVELS } from './logging';
import { TRADE_STREAM_REPLICAS_MAX } from '@starminer/trade-log';

export const DB_POOL_SIZE_DEFAULT = 5;
export const DB_POOL_SIZE_MAX = 64;

/** Configuration that fails at boot, naming every missing or malformed variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
}

export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new ConfigError(`configuration is invalid:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

const hexKey = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'a 0x-prefixed 32-byte private key')
  .transform((s) => s as `0x${string}`);

/** What every service needs: the log and its own Postgres schema. */
export const baseConfigSchema = z.object({
  NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  DATABASE_URL: z.string().min(1),
  /** Stream and subject prefix: tests and parallel stacks use their own. */
  TRADE_STREAM: z.string().regex(/^[A-Za-z0-9_-]+$/).default('TRADE'),
  TRADE_SUBJECT_PREFIX: z.string().regex(/^[a-z0-9_-]+$/).default('trade'),
  /** Copies of the TRADE stream JetStream keeps: 1 on one server, 3 on a cluster (the prod overlay); raised, never lowered, at boot. */
  TRADE_STREAM_REPLICAS: z.coerce.number().int().min(1).max(TRADE_STREAM_REPLICAS_MAX).default(1),
  /**
   * Postgres connections this process keeps at most. Five serve a service that projects and answers
   * little; the gateway answers every client and agent (thousands of long polls) and wants more.
   * Every replica of every service counts against the server's max_connections (100 by default).
   */
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(DB_POOL_SIZE_MAX).default(DB_POOL_SIZE_DEFAULT),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** `pretty` (pino-pretty, a dev dependency) only in the dev stack: JSON lines everywhere else. */
  LOG_FORMAT: z.enum(LOG_FORMATS).default('json'),
  /** Where the service answers HTTP: the gateway's API, and every service's /health/live, /health/ready and /metrics. */
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
});

const address = addressSchema.transform((s) => s as `0x${string}`);

/** The deploy step's `MarketAddresses`: token and escrow always, the other contracts when deployed. */
export const marketAddressesSchema: z.ZodType<MarketAddresses, unknown> = z.object({
  token: address,
  escrow: address,
  staking: address.optional(),
  vaults: address.optional(),
  anchor: address.optional(),
  deployBlock: z.number().int().nonnegative().optional(),
});

/** Chain access: RPC and the deployed market's addresses. */
export const chainConfigSchema = z.object({
  RPC_URL: z.string().url(),
  CHAIN_ID: z.coerce.number().int().positive(),
  /** Blocks on top of a transaction's before its effect is recorded on the log (0 on the local chain). */
  CHAIN_CONFIRMATIONS: z.coerce.number().int().min(0).max(64).default(0),
  /** JSON `{ token, escrow, ... }` written by the deploy step, checked here once for every service. */
  MARKET_ADDRESSES: z
    .string()
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'MARKET_ADDRESSES must be JSON' });
        return z.NEVER;
      }
    })
    .pipe(marketAddressesSchema),
});

export { hexKey as privateKeySchema };
export type BaseConfig = z.output<typeof baseConfigSchema>;
export type ChainConfig = z.output<typeof chainConfigSchema>;
