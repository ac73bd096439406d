/**
 * The console's access to the gateway: the SDK's clients on this page's own origin (the gateway
 * serves the console under /app/), and a few helpers over the SDK's answers.
 */
import { createClient, StarMinerApiError, StarMinerNetworkError, type OpsStatus, type PriceCandleIntervalSec, type PriceTier, type ServiceStatus, type StarMinerClient } from '@starminer/sdk';

export const PRICE_TIERS: readonly PriceTier[] = ['priority', 'standard', 'economy'];
export const CANDLE_INTERVALS_SEC: readonly PriceCandleIntervalSec[] = [60, 300, 3600, 86400];

/** A service in the ops status: its status, or why it did not answer. */
export type ServiceEntry = OpsStatus['services'][number];
export const isAnswered = (s: ServiceEntry | ServiceStatus): s is ServiceStatus => !('error' in s);

/** The gateway: this page's own origin. */
export const gatewayOrigin = (): string => window.location.origin;

export const requesterClient = (apiKey?: string): StarMinerClient => createClient({ baseUrl: gatewayOrigin(), ...(apiKey ? { apiKey } : {}) });

/** An error as a person reads it: the API's code and message, or what went wrong on the way. */
export function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof StarMinerApiError) return { code: err.code, message: err.message };
  if (err instanceof StarMinerNetworkError) return { code: err.code, message: err.message };
  if (err instanceof Error) return { code: err.name, message: err.message };
  return { code: 'ERROR', message: String(err) };
}

export const isAbort = (err: unknown): boolean => err instanceof DOMException && err.name === 'AbortError';
