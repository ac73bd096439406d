import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, HttpException, Inject, Injectable } from '@nestjs/common';
import { verifyMessage } from 'viem';
import { nodeRequestMessage } from '@starminer/sdk';
import { ServiceRuntime } from '@starminer/service-kit';
import { ApiKeyRow } from './entities';
import { GATEWAY_CONFIG, type GatewayConfig } from './gateway.config';

export const sha256Hex = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
export const newApiKey = (): string => `sm_${randomBytes(32).toString('base64url')}`;

export class Unauthenticated extends HttpException {
  constructor(code: string, message: string) {
    super({ code, message }, 401);
  }
}

function bearer(req: { headers: Record<string, string | string[] | undefined> }): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string' || !h.startsWith('Bearer ')) return undefined;
  return h.slice('Bearer '.length).trim();
}

/** An org's API key: `Authorization: Bearer sm_...`; sets `req.orgId`. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly rt: ServiceRuntime) {}
  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest();
    const key = bearer(req);
    if (!key) throw new Unauthenticated('API_KEY_REQUIRED', 'send Authorization: Bearer <api key>');
    const row = await this.rt.db.getRepository(ApiKeyRow).findOne({ where: { keyHash: sha256Hex(key) } });
    if (!row) throw new Unauthenticated('API_KEY_INVALID', 'unknown API key');
    req.orgId = row.orgId;
    return true;
  }
}

/** The operator: `Authorization: Bearer <OPERATOR_TOKEN>`. */
@Injectable()
export class OperatorGuard implements CanActivate {
  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {}
  canActivate(ctx: ExecutionContext): boolean {
    const token = bearer(ctx.switchToHttp().getRequest());
    const expected = Buffer.from(this.config.OPERATOR_TOKEN);
    if (!token || token.length !== expected.length || !timingSafeEqual(Buffer.from(token), expected))
      throw new Unauthenticated('OPERATOR_TOKEN_INVALID', 'this call needs the operator token');
    return true;
  }
}

/** Nonces are decimal integers below this many digits. */
const NONCE_DIGITS_MAX = 20;

/**
 * A provider agent's request, signed by its node key (EIP-191) over method, path, nonce and the
 * body's hash. The nonce must be above the last one seen for that key, so a replay is refused.
 * Sets `req.nodeAddress`.
 */
@Injectable()
export class NodeSignatureGuard implements CanActivate {
  constructor(private readonly rt: ServiceRuntime) {}
  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest();
    const address = req.headers['x-node-address'];
    const nonce = req.headers['x-node-nonce'];
    const signature = req.headers['x-node-signature'];
    if (typeof address !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(address)) throw new Unauthenticated('NODE_SIGNATURE_REQUIRED', 'x-node-address is missing or malformed');
    if (typeof nonce !== 'string' || !new RegExp(`^[0-9]{1,${NONCE_DIGITS_MAX}}$`).test(nonce)) throw new Unauthenticated('NODE_SIGNATURE_REQUIRED', `x-node-nonce must be an integer of at most ${NONCE_DIGITS_MAX} digits`);
    if (typeof signature !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(signature)) throw new Unauthenticated('NODE_SIGNATURE_REQUIRED', 'x-node-signature is missing or malformed');
    const raw: Buffer | undefined = req.rawBody;
    const message = nodeRequestMessage(req.method, req.originalUrl, nonce, raw ? raw.toString('utf8') : '');
    const ok = await verifyMessage({ address: address as `0x${string}`, message, signature: signature as `0x${string}` }).catch(() => false);
    if (!ok) throw new Unauthenticated('NODE_SIGNATURE_INVALID', 'the signature does not match the node key and request');
    const nodeAddress = address.toLowerCase();
    // One statement: insert the first nonce or raise the last one only if the new one is higher.
    const advanced: unknown[] = await this.rt.db.query(
      `INSERT INTO "${this.rt.service}"."node_nonces" ("nodeAddress", "lastNonce") VALUES ($1, $2)
       ON CONFLICT ("nodeAddress") DO UPDATE SET "lastNonce" = EXCLUDED."lastNonce" WHERE "node_nonces"."lastNonce" < EXCLUDED."lastNonce"
       RETURNING "nodeAddress"`,
      [nodeAddress, nonce],
    );
    if (advanced.length === 0) throw new Unauthenticated('NONCE_REPLAYED', 'this nonce was already used; send a higher one');
    req.nodeAddress = nodeAddress;
    return true;
  }
}
