import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { z } from 'zod';
import { LIMITS } from '@starminer/events';
import { InjectConfig } from '@starminer/service-kit';
import type { GatewayConfig } from '../gateway.config';

/**
 * Node sessions (issue 13): a node logs in once with a signed call (POST /v1/providers/sessions)
 * and then sends `Authorization: NodeSession <token>` instead of signing every call. The token is
 * stateless, `v1.<nodeAddress>.<expiresAtSec>.<mac>`, the MAC an HMAC-SHA256 under the gateway's
 * NODE_SESSION_SECRET over the deployment's chain id and escrow, the address and the expiry: checking it is a
 * hash, not a secp256k1 verification, and writes nothing (a signed call upserts its nonce). What
 * moves money stays signed by the node key (the result's EIP-712 signature, checked by settlement
 * and the chain), so a leaked token lets its holder act as the node's agent until it expires, and
 * no longer.
 */
export const NODE_SESSION_SCHEME = 'NodeSession';
export const NODE_SESSION_VERSION = 'v1';
const MAC_DOMAIN = 'starminer-node-session';
/** The secret's least length in bytes: HMAC-SHA256's block of key material worth having. */
export const NODE_SESSION_SECRET_BYTES_MIN = 32;
/** `v1.<0x + 40 hex, lower case>.<seconds, at most 12 digits>.<32 bytes, base64url, unpadded>` and nothing else. */
const TOKEN_PATTERN = /^v1\.(0x[0-9a-f]{40})\.([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{43})$/;
/** `Authorization: NodeSession <token>`: the scheme, spaces, the token; the token's own pattern is checked after. */
const HEADER_PATTERN = /^NodeSession +([\x21-\x7E]{1,200}) *$/;

/** NODE_SESSION_SECRET: at least 32 bytes (UTF-8), the same on every gateway replica. */
export const nodeSessionSecretSchema = z
  .string()
  .refine((s) => Buffer.byteLength(s, 'utf8') >= NODE_SESSION_SECRET_BYTES_MIN, `NODE_SESSION_SECRET must be at least ${NODE_SESSION_SECRET_BYTES_MIN} bytes`);

export const nodeSessionTtlSchema = z.coerce.number().int().min(1).max(LIMITS.nodeSessionTtlSecMax).default(LIMITS.nodeSessionTtlSecDefault);

/**
 * The deployment a token is good for: its chain and its escrow contract. Two deployments on one
 * chain that (wrongly) shared a secret still refuse each other's tokens, as a signed call is bound
 * to its gateway's origin.
 */
export interface SessionDeployment {
  readonly chainId: number;
  readonly escrow: string;
}

const macOf = (secret: Buffer, deployment: SessionDeployment, nodeAddress: string, expiresAtSec: number): Buffer =>
  createHmac('sha256', secret)
    .update(`${MAC_DOMAIN}|${NODE_SESSION_VERSION}|${deployment.chainId}|${deployment.escrow.toLowerCase()}|${nodeAddress}|${expiresAtSec}`)
    .digest();

/** The token of `nodeAddress` (any case; written lower case) valid until `expiresAtSec` on `deployment` under `secret`. */
export function nodeSessionToken(secret: Buffer, deployment: SessionDeployment, nodeAddress: string, expiresAtSec: number): string {
  const address = nodeAddress.toLowerCase();
  return `${NODE_SESSION_VERSION}.${address}.${expiresAtSec}.${macOf(secret, deployment, address, expiresAtSec).toString('base64url')}`;
}

export type SessionCheck = { ok: true; nodeAddress: `0x${string}`; expiresAtSec: number } | { ok: false; code: 'NODE_SESSION_INVALID' | 'NODE_SESSION_EXPIRED'; reason: string };

/**
 * Checks a token: its shape, its MAC in constant time (before anything it claims is believed), then
 * its expiry against `nowMs`. An altered address or expiry, another chain's or another secret's
 * token all fail the MAC: NODE_SESSION_INVALID; only a token this deployment issued can be EXPIRED.
 */
export function checkNodeSessionToken(secret: Buffer, deployment: SessionDeployment, token: string, nowMs: number): SessionCheck {
  const m = TOKEN_PATTERN.exec(token);
  if (!m) return { ok: false, code: 'NODE_SESSION_INVALID', reason: 'the token is not v1.<node address>.<expiry>.<mac>' };
  const [, address, expiresText, macText] = m as unknown as [string, `0x${string}`, string, string];
  const expiresAtSec = Number(expiresText);
  const given = Buffer.from(macText, 'base64url');
  const expected = macOf(secret, deployment, address, expiresAtSec);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, code: 'NODE_SESSION_INVALID', reason: 'the token was not issued by this deployment' };
  if (expiresAtSec * 1000 <= nowMs) return { ok: false, code: 'NODE_SESSION_EXPIRED', reason: `the session expired at ${new Date(expiresAtSec * 1000).toISOString()}` };
  return { ok: true, nodeAddress: address, expiresAtSec };
}

/** The token of `Authorization: NodeSession <token>`; undefined when the header is absent or of another scheme; null when it names the scheme but holds no token. */
export function nodeSessionOf(authorization: string | string[] | undefined): string | null | undefined {
  if (typeof authorization !== 'string' || !/^NodeSession(?: |$)/.test(authorization)) return undefined;
  return HEADER_PATTERN.exec(authorization)?.[1] ?? null;
}

/** The gateway's session issuer and checker: its secret, chain id and TTL. */
@Injectable()
export class NodeSessions {
  private readonly logger = new Logger('node-sessions');
  private readonly secret: Buffer;
  readonly ttlSec: number;
  private readonly deployment: SessionDeployment;

  constructor(@InjectConfig() config: GatewayConfig) {
    this.ttlSec = config.NODE_SESSION_TTL_SEC;
    this.deployment = { chainId: config.CHAIN_ID, escrow: config.MARKET_ADDRESSES.escrow };
    if (config.NODE_SESSION_SECRET) {
      this.secret = Buffer.from(config.NODE_SESSION_SECRET, 'utf8');
    } else {
      // a token is then good on this process only: an agent whose call reaches another replica gets
      // NODE_SESSION_INVALID and logs in again (the SDK does, once per call)
      this.secret = randomBytes(NODE_SESSION_SECRET_BYTES_MIN);
      this.logger.warn('NODE_SESSION_SECRET is not set: node sessions use a random secret of this process, so a token works on this replica only and none survives a restart; give every replica the same secret');
    }
  }

  /** A session for `nodeAddress` from `nowMs`. */
  issue(nodeAddress: string, nowMs: number): { token: string; expiresAt: string; expiresInSec: number } {
    // rounded up: the token lives at least ttlSec from now, so expiresInSec never overstates it
    const expiresAtSec = Math.ceil(nowMs / 1000) + this.ttlSec;
    return { token: nodeSessionToken(this.secret, this.deployment, nodeAddress, expiresAtSec), expiresAt: new Date(expiresAtSec * 1000).toISOString(), expiresInSec: this.ttlSec };
  }

  check(token: string, nowMs: number): SessionCheck {
    return checkNodeSessionToken(this.secret, this.deployment, token, nowMs);
  }
}
