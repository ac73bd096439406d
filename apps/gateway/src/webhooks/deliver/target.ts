import { Resolver } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Where a webhook may point. The gateway runs inside the platform's network: a URL that resolves to
 * a loopback, private, link-local (the cloud metadata service at 169.254.169.254), carrier-grade
 * NAT or otherwise non-public address would let any org make the gateway call our own services.
 * Only public unicast addresses are reached unless the operator allows private targets
 * (WEBHOOK_ALLOW_PRIVATE_TARGETS: the dev stack and the tests, whose receivers are on 127.0.0.1).
 *
 * The check is made on the very addresses the connection uses (`guardedLookup`, given to the
 * request as its `lookup`), so a name that answers a public address to a check and a private one
 * to the connection (DNS rebinding) gets nowhere. Names are resolved with c-ares (`Resolver`, off
 * libuv's thread pool, with a timeout), so slow or hostile name servers cannot starve the pool the
 * gateway's file and socket work shares. Refusals never name the addresses a name resolved to, so
 * the delivery log does not map the platform's internal DNS for an org.
 */

/** How long one DNS query may take, and how often it is tried: a webhook's name must resolve quickly. */
export const WEBHOOK_DNS_TIMEOUT_MS = 2_000;
export const WEBHOOK_DNS_TRIES = 2;

/** The address is a public unicast address (IPv4-mapped IPv6 judged as its IPv4 address). */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range() === 'unicast';
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}
/** Resolves a name to its addresses (A and AAAA); rejects when it has none. */
export type Resolve = (hostname: string) => Promise<ResolvedAddress[]>;

/** A refusal of a target, said without the addresses behind it. */
export class TargetRefusedError extends Error {
  override readonly name = 'TargetRefusedError';
  readonly code = 'TARGET_REFUSED';
}

const resolver = new Resolver({ timeout: WEBHOOK_DNS_TIMEOUT_MS, tries: WEBHOOK_DNS_TRIES });
const settledAddresses = async (query: Promise<string[]>, family: 4 | 6): Promise<ResolvedAddress[]> =>
  query.then(
    (as) => as.map((address) => ({ address, family })),
    () => [],
  );

/** A and AAAA records through c-ares. */
export const dnsResolve: Resolve = async (hostname) => {
  const [v4, v6] = await Promise.all([settledAddresses(resolver.resolve4(hostname), 4), settledAddresses(resolver.resolve6(hostname), 6)]);
  const all = [...v4, ...v6];
  if (all.length === 0) throw Object.assign(new Error(`${hostname} does not resolve`), { code: 'ENOTFOUND' });
  return all;
};

/** The URL's host without the brackets of an IPv6 literal. */
const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** Every address public, or the refusal (one private answer is enough: a resolver may rotate). */
async function publicAddresses(host: string, resolve: Resolve): Promise<ResolvedAddress[]> {
  let addresses: ResolvedAddress[];
  try {
    addresses = await resolve(host);
  } catch (err) {
    throw new TargetRefusedError(`${host} does not resolve (${(err as { code?: string }).code ?? 'no answer'})`);
  }
  if (addresses.some((a) => !isPublicAddress(a.address))) throw new TargetRefusedError(`${host} does not resolve to a public address`);
  return addresses;
}

/** Why a URL whose host is an IP literal may not be used, or null (a name: checked by guardedLookup when connecting). */
export function literalRefusal(url: string, allowPrivate: boolean): string | null {
  if (allowPrivate) return null;
  const host = hostOf(new URL(url));
  return isIP(host) && !isPublicAddress(host) ? `${host} is not a public address` : null;
}

/**
 * Why the URL may not be used, or null when it may: its host must resolve, and to public
 * addresses only. Told to the org when it creates a webhook; each delivery checks again on the
 * addresses it connects to (guardedLookup).
 */
export async function targetRefusal(url: string, allowPrivate: boolean, resolve: Resolve = dnsResolve): Promise<string | null> {
  if (allowPrivate) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a URL';
  }
  const host = hostOf(parsed);
  if (isIP(host)) return isPublicAddress(host) ? null : `${host} is not a public address`;
  try {
    await publicAddresses(host, resolve);
    return null;
  } catch (err) {
    if (err instanceof TargetRefusedError) return err.message;
    throw err;
  }
}

/**
 * The `lookup` of a webhook request when private targets are refused: the connection goes to an
 * address this function checked, and only there. An IP literal in the URL never reaches a lookup,
 * so the sender checks it itself (`targetRefusal`) before connecting.
 */
export function guardedLookup(resolve: Resolve = dnsResolve): LookupFunction {
  return (hostname, options, callback) => {
    publicAddresses(hostname, resolve).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
        if (wanted.length === 0) return callback(Object.assign(new TargetRefusedError(`${hostname} has no IPv${options.family} address`), { errno: 0 }), '', 0);
        if (options.all) return (callback as unknown as (err: null, all: ResolvedAddress[]) => void)(null, wanted);
        callback(null, wanted[0].address, wanted[0].family);
      },
      (err: Error) => callback(Object.assign(err, { errno: 0 }) as NodeJS.ErrnoException, '', 0),
    );
  };
}
