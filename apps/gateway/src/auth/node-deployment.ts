import { z } from 'zod';
import { normalizeOrigin } from '@starminer/sdk/provider';

/** At most this many public origins: a gateway answers at a handful of URLs, not at a list to scan. */
export const PUBLIC_ORIGINS_MAX = 8;

/** GATEWAY_PUBLIC_ORIGIN: comma-separated http(s) origins, each normalized (`new URL(..).origin`). */
export const publicOriginsSchema = z
  .string()
  .min(1)
  .transform((raw, ctx) => {
    const origins: string[] = [];
    for (const part of raw.split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
      try {
        const origin = normalizeOrigin(part);
        if (!origins.includes(origin)) origins.push(origin);
      } catch {
        ctx.addIssue({ code: 'custom', message: `GATEWAY_PUBLIC_ORIGIN: ${JSON.stringify(part)} is not an http(s) origin` });
        return z.NEVER;
      }
    }
    if (origins.length === 0 || origins.length > PUBLIC_ORIGINS_MAX) {
      ctx.addIssue({ code: 'custom', message: `GATEWAY_PUBLIC_ORIGIN must name 1 to ${PUBLIC_ORIGINS_MAX} origins` });
      return z.NEVER;
    }
    return origins;
  });

const LOOPBACK_OR_WILDCARD = new Set(['127.0.0.1', 'localhost', '::1', '0.0.0.0', '::']);

/**
 * The origins this gateway answers at when GATEWAY_PUBLIC_ORIGIN is not set: from HTTP_HOST and
 * the port the server is bound to (HTTP_PORT 0 picks one at listen). A loopback or wildcard host is
 * reached locally as 127.0.0.1 or localhost; another host as itself.
 */
export function defaultPublicOrigins(httpHost: string, boundPort: number): string[] {
  if (LOOPBACK_OR_WILDCARD.has(httpHost)) return [`http://127.0.0.1:${boundPort}`, `http://localhost:${boundPort}`];
  const host = httpHost.includes(':') && !httpHost.startsWith('[') ? `[${httpHost}]` : httpHost;
  return [normalizeOrigin(`http://${host}:${boundPort}`)];
}
