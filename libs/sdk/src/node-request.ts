import { createHash } from 'node:crypto';
import { verifyMessage, type Hex, type LocalAccount } from 'viem';

/**
 * Provider agent requests are signed by the node key: an EIP-191 `personal_sign` over method,
 * path, a strictly increasing nonce and the sha256 of the raw body. The gateway rebuilds the same
 * message with `nodeRequestMessage`, checks the signature with `verifyNodeRequest`, and refuses a
 * nonce it has already seen for that address (so a captured request cannot be replayed).
 */
export const NODE_REQUEST_DOMAIN = 'starminer-node-request';

export const NODE_HEADERS = {
  address: 'x-node-address',
  nonce: 'x-node-nonce',
  signature: 'x-node-signature',
} as const;

/** The three headers of a signed provider request. */
export interface NodeRequestHeaders {
  readonly 'x-node-address': `0x${string}`;
  readonly 'x-node-nonce': string;
  readonly 'x-node-signature': Hex;
}

/** What a signature covers. `path` includes the query string, exactly as sent (`req.originalUrl`). */
export interface NodeRequestParts {
  readonly method: string;
  readonly path: string;
  /** The raw body as sent, or undefined / '' for a request without one. */
  readonly body?: string;
}

const NONCE_PATTERN = /^[0-9]{1,20}$/;

export class NodeRequestError extends Error {
  override readonly name = 'NodeRequestError';
  constructor(
    readonly code: 'NONCE_MALFORMED' | 'PATH_MALFORMED',
    message: string,
  ) {
    super(message);
  }
}

export const sha256Hex = (data: string): string => createHash('sha256').update(data, 'utf8').digest('hex');

/**
 * `starminer-node-request\n<METHOD>\n<path>\n<nonce>\n<sha256 hex of the raw body or of ''>`.
 * The method is upper-cased so `post` and `POST` sign the same request.
 */
export function nodeRequestMessage(method: string, path: string, nonce: string | number | bigint, rawBody: string | undefined): string {
  const nonceText = String(nonce);
  if (!NONCE_PATTERN.test(nonceText)) throw new NodeRequestError('NONCE_MALFORMED', `nonce must be a decimal integer of at most 20 digits, got ${nonceText}`);
  if (!path.startsWith('/') || /[\r\n]/.test(path)) throw new NodeRequestError('PATH_MALFORMED', `path must start with / and hold no line break, got ${JSON.stringify(path)}`);
  return [NODE_REQUEST_DOMAIN, method.toUpperCase(), path, nonceText, sha256Hex(rawBody ?? '')].join('\n');
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
 * Signs one request with the node key and returns the headers to send. The nonce comes from a
 * per-address sequence unless given. Sign requests in the order they are sent: the gateway
 * refuses a nonce lower than one it already accepted.
 */
export async function signNodeRequest(account: LocalAccount, parts: NodeRequestParts & { nonce?: string }): Promise<NodeRequestHeaders> {
  const nonce = parts.nonce ?? defaultNonceFor(account.address);
  const message = nodeRequestMessage(parts.method, parts.path, nonce, parts.body);
  const signature = await account.signMessage({ message });
  return { 'x-node-address': account.address, 'x-node-nonce': nonce, 'x-node-signature': signature };
}

/**
 * True when `signature` is the node key `address`'s signature of this request. It checks the
 * signature only: whether the nonce is fresh is the verifier's state to keep.
 */
export async function verifyNodeRequest(req: NodeRequestParts & { address: string; nonce: string; signature: string }): Promise<boolean> {
  if (!/^0x[0-9a-fA-F]{40}$/.test(req.address) || !/^0x[0-9a-fA-F]{130}$/.test(req.signature)) return false;
  let message: string;
  try {
    message = nodeRequestMessage(req.method, req.path, req.nonce, req.body);
  } catch {
    return false;
  }
  return verifyMessage({ address: req.address as `0x${string}`, message, signature: req.signature as Hex }).catch(() => false);
}
