import { sha256, stringToBytes, verifyMessage, type Hex, type LocalAccount } from 'viem';

/**
 * Provider agent requests are signed by the node key: an EIP-191 `personal_sign` over the
 * deployment (the chain id and the gateway's public origin), method, path, a strictly increasing
 * nonce and the sha256 of the raw body. The gateway rebuilds the same message with
 * `nodeRequestMessage` from its own chain id and origin, checks the signature, and refuses a nonce
 * it has already seen for that address (so a captured request cannot be replayed), and a request
 * signed for another deployment (so it cannot be replayed against another gateway or chain).
 */
export const NODE_REQUEST_DOMAIN = 'starminer-node-request';

export const NODE_HEADERS = {
  address: 'x-node-address',
  nonce: 'x-node-nonce',
  signature: 'x-node-signature',
  chainId: 'x-node-chain-id',
  origin: 'x-node-origin',
} as const;

/**
 * The headers of a signed provider request. `x-node-chain-id` and `x-node-origin` say which
 * deployment the signer meant (the signature covers them), so a gateway can tell "signed for
 * another deployment" from "signed wrongly".
 */
export interface NodeRequestHeaders {
  readonly 'x-node-address': `0x${string}`;
  readonly 'x-node-nonce': string;
  readonly 'x-node-signature': Hex;
  readonly 'x-node-chain-id': string;
  readonly 'x-node-origin': string;
}

/** The deployment a request is for: the market's chain and the gateway's public origin (`scheme://host[:port]`). */
export interface NodeDeployment {
  readonly chainId: number;
  readonly origin: string;
}

/** What a signature covers. `path` includes the query string, exactly as sent (`req.originalUrl`). */
export interface NodeRequestParts extends NodeDeployment {
  readonly method: string;
  readonly path: string;
  /** The raw body as sent, or undefined / '' for a request without one. */
  readonly body?: string;
}

const NONCE_PATTERN = /^[0-9]{1,20}$/;

export class NodeRequestError extends Error {
  override readonly name = 'NodeRequestError';
  constructor(
    readonly code: 'NONCE_MALFORMED' | 'PATH_MALFORMED' | 'CHAIN_ID_MALFORMED' | 'ORIGIN_MALFORMED',
    message: string,
  ) {
    super(message);
  }
}

/** The sha256 of text (UTF-8) in hex, without 0x: viem's, so the provider entry runs in browsers too (no node:crypto). */
export const sha256Hex = (data: string): string => sha256(stringToBytes(data)).slice(2);

/**
 * The origin of a URL as browsers and `new URL(..).origin` write it: lower-case scheme and host,
 * the default port dropped, no path. Throws ORIGIN_MALFORMED for anything that is not an http(s) URL.
 */
export function normalizeOrigin(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new NodeRequestError('ORIGIN_MALFORMED', `not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new NodeRequestError('ORIGIN_MALFORMED', `origin must be http(s), got ${JSON.stringify(url)}`);
  return parsed.origin;
}

/**
 * `starminer-node-request\n<chainId>\n<origin>\n<METHOD>\n<path>\n<nonce>\n<sha256 hex of the raw body or of ''>`.
 * The method is upper-cased so `post` and `POST` sign the same request; the origin must be
 * normalized already (`normalizeOrigin`), so both sides write it the same way.
 */
export function nodeRequestMessage(parts: NodeRequestParts & { nonce: string | number | bigint }): string {
  const nonceText = String(parts.nonce);
  if (!NONCE_PATTERN.test(nonceText)) throw new NodeRequestError('NONCE_MALFORMED', `nonce must be a decimal integer of at most 20 digits, got ${nonceText}`);
  if (!parts.path.startsWith('/') || /[\r\n]/.test(parts.path)) throw new NodeRequestError('PATH_MALFORMED', `path must start with / and hold no line break, got ${JSON.stringify(parts.path)}`);
  if (!Number.isSafeInteger(parts.chainId) || parts.chainId <= 0) throw new NodeRequestError('CHAIN_ID_MALFORMED', `chainId must be a positive integer, got ${String(parts.chainId)}`);
  if (/[\r\n]/.test(parts.origin) || normalizeOrigin(parts.origin) !== parts.origin) {
    throw new NodeRequestError('ORIGIN_MALFORMED', `origin must be a normalized origin (scheme://host[:port]), got ${JSON.stringify(parts.origin)}`);
  }
  return [NODE_REQUEST_DOMAIN, String(parts.chainId), parts.origin, parts.method.toUpperCase(), parts.path, nonceText, sha256Hex(parts.body ?? '')].join('\n');
}

/**
 * Nonces strictly increasing per process: max(now in ms, last + 1). Milliseconds since the epoch
 * keep a restarted agent above the nonces it used before its restart (its clock permitting).
 */
export class NonceSequence {
  private last = 0;
  constructor(private readonly now: () => number = Date.now) {}
  next(): string {
    this.last = Math.max(Math.floor(this.now()), this.last + 1);
    return String(this.last);
  }
}

const sequences = new Map<string, NonceSequence>();
function defaultNonceFor(address: string): string {
  const key = address.toLowerCase();
  let seq = sequences.get(key);
  if (!seq) {
    seq = new NonceSequence();
    sequences.set(key, seq);
  }
  return seq.next();
}

/**
 * Signs one request with the node key for one deployment and returns the headers to send. The
 * nonce comes from a per-address sequence unless given. Sign requests in the order they are sent:
 * the gateway refuses a nonce lower than one it already accepted.
 */
export async function signNodeRequest(account: LocalAccount, parts: NodeRequestParts & { nonce?: string }): Promise<NodeRequestHeaders> {
  const nonce = parts.nonce ?? defaultNonceFor(account.address);
  const origin = normalizeOrigin(parts.origin);
  const message = nodeRequestMessage({ ...parts, origin, nonce });
  const signature = await account.signMessage({ message });
  return { 'x-node-address': account.address, 'x-node-nonce': nonce, 'x-node-signature': signature, 'x-node-chain-id': String(parts.chainId), 'x-node-origin': origin };
}

/**
 * True when `signature` is the node key `address`'s signature of this request for this
 * deployment. It checks the signature only: whether the nonce is fresh is the verifier's state to keep.
 */
export async function verifyNodeRequest(req: NodeRequestParts & { address: string; nonce: string; signature: string }): Promise<boolean> {
  if (!/^0x[0-9a-fA-F]{40}$/.test(req.address) || !/^0x[0-9a-fA-F]{130}$/.test(req.signature)) return false;
  let message: string;
  try {
    message = nodeRequestMessage(req);
  } catch {
    return false;
  }
  return verifyMessage({ address: req.address as `0x${string}`, message, signature: req.signature as Hex }).catch(() => false);
}
