import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Where a webhook may point. The gateway runs inside the platform's network: a URL that resolves to
 * a loopback, private, link-local (the cloud metadata service at 169.254.169.254), carrier-grade
 * NAT or otherwise non-public address would let any org make the gateway call our own services.
 * Only public unicast addresses are reached unless the operator allows private targets
 * (WEBHOOK_ALLOW_PRIVATE_TARGETS: the dev stack and the tests, whose receivers are on 127.0.0.1).
 */

/** The address is a public unicast address (IPv4-mapped IPv6 judged as its IPv4 address). */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range() === 'unicast';
}

export type Lookup = (hostname: string) => Promise<readonly { address: string }[]>;
const systemLookup: Lookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** The URL's host without the brackets of an IPv6 literal. */
const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

/**
 * Why the URL may not be used now, or null when it may: its host must resolve, and every address
 * it resolves to must be public (one private answer is enough to refuse: a resolver may rotate).
 * Checked when a webhook is created (for literal addresses and names that resolve then) and before
 * every attempt (a name may point elsewhere later). A name re-resolved by the HTTP client between
 * the check and the connection is a window this check does not close; a proxy in front of the
 * gateway's egress is the operator's full answer.
 */
export async function targetRefusal(url: string, allowPrivate: boolean, lookup: Lookup = systemLookup): Promise<string | null> {
  if (allowPrivate) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a URL';
  }
  const host = hostOf(parsed);
  if (isIP(host)) return isPublicAddress(host) ? null : `${host} is not a public address`;
  let addresses: readonly { address: string }[];
  try {
    addresses = await lookup(host);
  } catch (err) {
    return `${host} does not resolve (${(err as { code?: string }).code ?? (err as Error).message})`;
  }
  if (addresses.length === 0) return `${host} does not resolve`;
  const inner = addresses.find((a) => !isPublicAddress(a.address));
  return inner ? `${host} resolves to ${inner.address}, not a public address` : null;
}
