import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { DomainError } from '@starminer/domain';
import { nodeRequestMessage } from '@starminer/sdk/provider';
import { InjectConfig, ServiceRuntime } from '@starminer/service-kit';
import type { GatewayConfig } from '../gateway.config';
import { ApiKeyRow } from './entities';
import { defaultPublicOrigins } from './node-deployment';
import { NodeKeys } from './node-keys';
import { NodeSessions, nodeSessionOf } from './node-sessions';

export const sha256Hex = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
export const newApiKey = (): string => `sm_${randomBytes(32).toString('base64url')}`;
/** The shape of every key newApiKey hands out: anything else is refused without a lookup. */
const API_KEY_PATTERN = /^sm_[A-Za-z0-9_-]{43}$/;

export interface HttpRequest {
  headers: Record<string, string | string[] | undefined>;
  method: string;
  originalUrl: string;
  rawBody?: Buffer;
  orgId?: string;
  nodeAddress?: string;
}
export type OrgRequest = HttpRequest & { orgId: string };
export type NodeRequest = HttpRequest & { nodeAddress: `0x${string}` };

/** `Authorization: Bearer <token>`, or undefined; a header of any other shape (or bytes) is no bearer token. */
function bearer(req: HttpRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer +([\x21-\x7E]{1,512}) *$/.exec(h);
  return m?.[1];
}

/** An org's API key: `Authorization: Bearer sm_...`; sets `req.orgId`. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly rt: ServiceRuntime) {}
  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<HttpRequest>();
    if (req.headers.authorization === undefined) throw new DomainError('API_KEY_REQUIRED', 'send Authorization: Bearer <api key>');
    const key = bearer(req);
    if (!key || !API_KEY_PATTERN.test(key)) throw new DomainError('API_KEY_INVALID', 'the Authorization header holds no API key of this exchange');
    const row = await this.rt.db.getRepository(ApiKeyRow).findOne({ where: { keyHash: sha256Hex(key) } });
    if (!row) throw new DomainError('API_KEY_INVALID', 'unknown API key');
    req.orgId = row.orgId;
    return true;
  }
}

/** The operator: `Authorization: Bearer <OPERATOR_TOKEN>`, compared in constant time. */
@Injectable()
export class OperatorGuard implements CanActivate {
  private readonly expected: Buffer;
  constructor(@InjectConfig() config: GatewayConfig) {
    this.expected = Buffer.from(config.OPERATOR_TOKEN, 'utf8');
  }
  canActivate(ctx: ExecutionContext): boolean {
    const token = bearer(ctx.switchToHttp().getRequest<HttpRequest>());
    const given = Buffer.from(token ?? '', 'utf8');
    if (given.length !== this.expected.length || !timingSafeEqual(given, this.expected)) throw new DomainError('OPERATOR_TOKEN_INVALID', 'this call needs the operator token');
    return true;
  }
}

/** Nonces are decimal integers below this many digits. */
const NONCE_DIGITS_MAX = 20;
const NONCE_PATTERN = new RegExp(`^[0-9]{1,${NONCE_DIGITS_MAX}}$`);
/** A chain id: a positive decimal integer that fits a JS number exactly. */
const CHAIN_ID_PATTERN = /^[1-9][0-9]{0,14}$/;
/** The longest x-node-origin compared (an origin is scheme://host:port; hosts are at most 253). */
const ORIGIN_LENGTH_MAX = 300;

/**
 * A provider agent's request, by one of two proofs of its node key. Signed: an EIP-191 signature
 * by the node key over the deployment (chain id and the gateway's public origin), method, path,
 * nonce and the body's hash. A request signed for another chain or another gateway is refused
 * (NODE_SIGNATURE_WRONG_DEPLOYMENT), so it cannot be replayed across deployments; the nonce must be
 * above the last one seen for that key, so it cannot be replayed here either. Or a session
 * (`Authorization: NodeSession <token>`, from a signed login, node-sessions.ts): a MAC checked in
 * constant time and an expiry, no signature and no nonce write (NODE_SESSION_INVALID,
 * NODE_SESSION_EXPIRED). Either way, sets `req.nodeAddress` (lower case).
 */
@Injectable()
export class NodeSignatureGuard implements CanActivate {
  private origins: readonly string[] | undefined;
  /** Node keys verified before, kept as points: a signature is checked, not recovered, after the first. */
  private readonly keys = new NodeKeys();

  /** Whether `Authorization: NodeSession` is accepted in place of a signature (not by the login, so a session cannot renew itself). */
  protected readonly sessionsAccepted: boolean = true;

  constructor(
    private readonly rt: ServiceRuntime,
    @InjectConfig() private readonly config: GatewayConfig,
    private readonly http: HttpAdapterHost,
    private readonly sessions: NodeSessions,
  ) {}

  /** GATEWAY_PUBLIC_ORIGIN, or the default from HTTP_HOST and the port the server listens on (known once it listens). */
  private publicOrigins(): readonly string[] {
    if (this.origins) return this.origins;
    if (this.config.GATEWAY_PUBLIC_ORIGIN) return (this.origins = this.config.GATEWAY_PUBLIC_ORIGIN);
    const bound = this.http.httpAdapter.getHttpServer().address() as AddressInfo | string | null;
    const port = bound && typeof bound === 'object' ? bound.port : this.config.HTTP_PORT;
    return (this.origins = defaultPublicOrigins(this.config.HTTP_HOST, port));
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<HttpRequest>();
    const token = nodeSessionOf(req.headers.authorization);
    if (token !== undefined) {
      if (!this.sessionsAccepted) throw new DomainError('NODE_SIGNATURE_REQUIRED', 'a login is signed by the node key (x-node-* headers), never a session: a session cannot renew itself');
      return this.session(req, token);
    }
    return this.signed(req);
  }

  /** The session path: the token's MAC and expiry; nothing is written. */
  private session(req: HttpRequest, token: string | null): boolean {
    if (token === null) throw new DomainError('NODE_SESSION_INVALID', 'Authorization: NodeSession holds no token');
    const checked = this.sessions.check(token, Date.now());
    if (!checked.ok) throw new DomainError(checked.code, checked.reason);
    req.nodeAddress = checked.nodeAddress;
    return true;
  }

  /** The signed path: deployment, signature, then the nonce raised (one upsert). */
  private async signed(req: HttpRequest): Promise<boolean> {
    const address = req.headers['x-node-address'];
    const nonce = req.headers['x-node-nonce'];
    const signature = req.headers['x-node-signature'];
    const chainId = req.headers['x-node-chain-id'];
    const origin = req.headers['x-node-origin'];
    if (typeof address !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(address)) throw new DomainError('NODE_SIGNATURE_REQUIRED', 'x-node-address is missing or malformed');
    if (typeof nonce !== 'string' || !NONCE_PATTERN.test(nonce)) throw new DomainError('NODE_SIGNATURE_REQUIRED', `x-node-nonce must be an integer of at most ${NONCE_DIGITS_MAX} digits`);
    if (typeof signature !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(signature)) throw new DomainError('NODE_SIGNATURE_REQUIRED', 'x-node-signature is missing or malformed');
    if (typeof chainId !== 'string' || !CHAIN_ID_PATTERN.test(chainId)) throw new DomainError('NODE_SIGNATURE_REQUIRED', 'x-node-chain-id must name the chain the request is signed for');
    if (typeof origin !== 'string' || origin.length === 0 || origin.length > ORIGIN_LENGTH_MAX) throw new DomainError('NODE_SIGNATURE_REQUIRED', 'x-node-origin must name the gateway origin the request is signed for');
    const origins = this.publicOrigins();
    if (Number(chainId) !== this.config.CHAIN_ID || !origins.includes(origin)) {
      throw new DomainError('NODE_SIGNATURE_WRONG_DEPLOYMENT', `the request is signed for chain ${chainId} at ${JSON.stringify(origin)}; this gateway is chain ${this.config.CHAIN_ID} at ${origins.join(', ')}`, {
        chainId: this.config.CHAIN_ID,
        origins,
      });
    }
    if (/[\r\n]/.test(req.originalUrl)) throw new DomainError('NODE_SIGNATURE_INVALID', 'the signed path holds a line break');
    // rebuilt from this gateway's own chain id and one of its own origins: the headers only pick which
    const message = nodeRequestMessage({
      chainId: this.config.CHAIN_ID,
      origin,
      method: req.method,
      path: req.originalUrl,
      nonce,
      body: req.rawBody ? req.rawBody.toString('utf8') : '',
    });
    const ok = await this.keys.verify(address, message, signature as `0x${string}`).catch(() => false);
    if (!ok) throw new DomainError('NODE_SIGNATURE_INVALID', 'the signature does not match the node key and request');
    const nodeAddress = address.toLowerCase() as `0x${string}`;
    // One statement: insert the first nonce or raise the last one only if the new one is higher.
    const advanced: unknown[] = await this.rt.db.query(
      `INSERT INTO "${this.rt.service}"."node_nonces" ("nodeAddress", "lastNonce") VALUES ($1, $2)
       ON CONFLICT ("nodeAddress") DO UPDATE SET "lastNonce" = EXCLUDED."lastNonce" WHERE "node_nonces"."lastNonce" < EXCLUDED."lastNonce"
       RETURNING "nodeAddress"`,
      [nodeAddress, nonce],
    );
    if (advanced.length === 0) throw new DomainError('NONCE_REPLAYED', 'this nonce was already used; send a higher one');
    req.nodeAddress = nodeAddress;
    return true;
  }
}

/** The node login (POST /v1/providers/sessions): a signed request only. */
@Injectable()
export class NodeLoginGuard extends NodeSignatureGuard {
  protected override readonly sessionsAccepted: boolean = false;
}
