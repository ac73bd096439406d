import type { LocalAccount } from 'viem';
import { StarMinerApiError } from './errors';
import { send, type RequestSpec, type TransportOptions } from './http';
import { SDK_LIMITS } from './limits';
import { NonceSequence, normalizeOrigin, sha256Hex, signNodeRequest } from './node-request';
import type {
  Assignments, EarningsPage, HeartbeatAck, HeartbeatRequest, NodeRegistered, NodeSession, NodeStatus, ProviderJobStatus, RegisterNodeRequest, ResultAccepted, SubmitResultRequest,
} from './types';

/**
 * The nonce a TEE's attestation report for a job must carry: sha256 of `starminer-attestation:<jobId>`,
 * 32 bytes in hex (what NVIDIA's attestation SDK takes). Settlement rejects a report made for
 * another nonce (ATTESTATION_NONCE_MISMATCH).
 */
export const attestationNonceFor = (jobId: string): string => sha256Hex(`starminer-attestation:${jobId}`);

export interface ProviderClientOptions extends TransportOptions {
  /** The node key (a viem LocalAccount): every call is signed by it. */
  account: LocalAccount;
  /** The market's chain: every signature is bound to it (the gateway refuses another chain's). */
  chainId: number;
  /** The gateway's public origin the signatures are bound to; default: the origin of `baseUrl`. */
  origin?: string;
  nonces?: NonceSequence;
  /**
   * Node sessions (default off; the provider agent turns them on): the client logs in once with a
   * signed call (createNodeSession, when its first call goes out), sends the token
   * (`Authorization: NodeSession`) on every call instead of a signature, and logs in again at 80 %
   * of the session's life (SDK_LIMITS.nodeSessionRenewAtFraction; the old token serves meanwhile).
   * A call refused with a NODE_SESSION_* code (expired, or issued by a replica with another
   * secret) logs in again once and is sent once more: the refusal happened before anything was
   * done, so this is safe for writes too. Calls share one login, and are not serialised (no nonce
   * to keep in order). A gateway without sessions (404 on the login) gets signed calls.
   */
  sessions?: boolean;
  /** For tests: the clock (ms) sessions are renewed by. */
  now?: () => number;
}

interface Session {
  readonly token: string;
  /** When to log in again (the token still serves until expiresAtMs). */
  readonly renewAtMs: number;
  readonly expiresAtMs: number;
}

interface CallOptions {
  signal?: AbortSignal;
}

/**
 * The provider's side of the gateway (`createProviderClient`): every call signed by the node key
 * with a fresh nonce, per attempt. Calls go out one at a time, in nonce order, because the
 * gateway refuses a nonce lower than one it has already accepted (two calls racing would see the
 * later-signed one refused). Signatures are bound to the deployment (chain id, gateway origin), so
 * they replay nowhere else. Reads and heartbeats are retried like the requester's reads; writes
 * (register, start, result) are sent once: the agent that calls them decides what to do again.
 * With `sessions: true`, one signed login an hour or so and a session token on the calls instead
 * (the gateway then checks a MAC, not a signature, and writes no nonce); the result's EIP-712
 * signature is the node key's either way.
 */
export class ProviderClient {
  private readonly nonces: NonceSequence;
  private readonly origin: string;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;
  /** Sessions in use: off when not asked for, or once a gateway answered 404 to the login. */
  private sessionsOn: boolean;
  private current: Session | undefined;
  /** The login in flight, shared by every call that needs it. */
  private loggingIn: Promise<Session | undefined> | undefined;
  private logins = 0;

  constructor(private readonly opts: ProviderClientOptions) {
    this.nonces = opts.nonces ?? new NonceSequence();
    this.origin = normalizeOrigin(opts.origin ?? opts.baseUrl);
    this.now = opts.now ?? Date.now;
    this.sessionsOn = opts.sessions ?? false;
  }

  /** Logins this client made (sessions): one an expiry or so, one per refused token. */
  get sessionLogins(): number {
    return this.logins;
  }

  /** The node key's address. */
  get address(): `0x${string}` {
    return this.opts.account.address;
  }

  /** POST /v1/providers/nodes: one node key registers one node. */
  registerNode(p: { registration: RegisterNodeRequest } & CallOptions): Promise<NodeRegistered> {
    return this.call({ method: 'POST', path: '/v1/providers/nodes', body: p.registration, retry: false, signal: p.signal });
  }

  /** POST /v1/providers/nodes/{nodeId}/heartbeat: the node is alive; `telemetry`, its GPUs' live figures (an agent without GPUs sends none). */
  heartbeat(p: { nodeId: string; telemetry?: HeartbeatRequest['telemetry'] } & CallOptions): Promise<HeartbeatAck> {
    const body = p.telemetry ? { telemetry: p.telemetry } : undefined;
    return this.call({ method: 'POST', path: `${nodePath(p.nodeId)}/heartbeat`, ...(body ? { body } : {}), retry: true, signal: p.signal });
  }

  /**
   * GET /v1/providers/nodes/{nodeId}/assignments: the jobs contracted to the node and not done.
   * With `waitMs` (at most 20 s), a long poll: while the node has no contracted job to start, the
   * gateway answers once one is contracted to it, or after waitMs; such a poll is also the node's
   * heartbeat (`alive: true` in the answer). Without sessions, the node's other calls wait behind it
   * (one signed call at a time), so keep waitMs under the heartbeat interval; with sessions they go
   * side by side.
   */
  getAssignments(p: { nodeId: string; waitMs?: number } & CallOptions): Promise<Assignments> {
    return this.call({ method: 'GET', path: `${nodePath(p.nodeId)}/assignments`, query: { waitMs: p.waitMs }, retry: true, signal: p.signal });
  }

  /** POST /v1/providers/nodes/{nodeId}/jobs/{jobId}/start */
  startJob(p: { nodeId: string; jobId: string } & CallOptions): Promise<ProviderJobStatus> {
    return this.call({ method: 'POST', path: `${nodePath(p.nodeId)}/jobs/${encodeURIComponent(p.jobId)}/start`, retry: false, signal: p.signal });
  }

  /**
   * POST /v1/providers/nodes/{nodeId}/jobs/{jobId}/give-up: the node cannot run the job to the end;
   * it is paid nothing, and the job goes to another node (or is refunded after its last attempt).
   */
  giveUpJob(p: { nodeId: string; jobId: string; reason: string } & CallOptions): Promise<ProviderJobStatus> {
    return this.call({ method: 'POST', path: `${nodePath(p.nodeId)}/jobs/${encodeURIComponent(p.jobId)}/give-up`, body: { reason: p.reason }, retry: false, signal: p.signal });
  }

  /**
   * POST /v1/providers/nodes/{nodeId}/jobs/{jobId}/result: the output, its hashes and the node key's
   * signature (`signResult`); a TEE node adds `attestation` ({ format, report }), its TEE's report
   * bound to `attestationNonceFor(jobId)`.
   */
  submitResult(p: { nodeId: string; jobId: string; result: SubmitResultRequest } & CallOptions): Promise<ResultAccepted> {
    return this.call({ method: 'POST', path: `${nodePath(p.nodeId)}/jobs/${encodeURIComponent(p.jobId)}/result`, body: p.result, retry: false, signal: p.signal });
  }

  /** GET /v1/providers/nodes/{nodeId}: the node as the market sees it. */
  getNodeStatus(p: { nodeId: string } & CallOptions): Promise<NodeStatus> {
    return this.call({ method: 'GET', path: nodePath(p.nodeId), retry: true, signal: p.signal });
  }

  /** GET /v1/providers/nodes/{nodeId}/earnings: what the node was paid, one page. */
  getEarnings(p: { nodeId: string; limit?: number; cursor?: string } & CallOptions): Promise<EarningsPage> {
    return this.call({ method: 'GET', path: `${nodePath(p.nodeId)}/earnings`, query: { limit: p.limit, cursor: p.cursor }, retry: true, signal: p.signal });
  }

  /** POST /v1/providers/sessions: a session for the node key (signed); the client does this itself with `sessions: true`. */
  createSession(p: CallOptions = {}): Promise<NodeSession> {
    return this.signedCall({ method: 'POST', path: '/v1/providers/sessions', retry: true, signal: p.signal });
  }

  private call<T>(spec: Omit<RequestSpec, 'headers'>): Promise<T> {
    return this.sessionsOn ? this.sessionCall<T>(spec) : this.signedCall<T>(spec);
  }

  /** Signed by the node key with a fresh nonce per attempt, one at a time in nonce order. */
  private signedCall<T>(spec: Omit<RequestSpec, 'headers'>): Promise<T> {
    const { account, chainId } = this.opts;
    const sign = async (sent: { method: string; path: string; rawBody: string | undefined }) => ({
      ...(await signNodeRequest(account, { chainId, origin: this.origin, method: sent.method, path: sent.path, body: sent.rawBody, nonce: this.nonces.next() })),
    });
    const run = async (): Promise<T> => (await send(this.opts, { ...spec, headers: sign })) as T;
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** With the session's token; a NODE_SESSION_* refusal logs in again once and sends the call once more. */
  private async sessionCall<T>(spec: Omit<RequestSpec, 'headers'>): Promise<T> {
    const session = await this.session();
    if (!session) return this.signedCall<T>(spec);
    try {
      return (await send(this.opts, { ...spec, headers: { authorization: `NodeSession ${session.token}` } })) as T;
    } catch (err) {
      if (!(err instanceof StarMinerApiError) || err.status !== 401 || !err.code.startsWith('NODE_SESSION_')) throw err;
      if (this.current === session) this.current = undefined;
      const again = await this.session();
      if (!again) return this.signedCall<T>(spec);
      return (await send(this.opts, { ...spec, headers: { authorization: `NodeSession ${again.token}` } })) as T;
    }
  }

  /**
   * The session to call with: the current one, logging in again in the background once it is due
   * for renewal (it still serves), or after the one login every waiting call shares when there is
   * none or it has expired. Undefined when the gateway has no sessions.
   */
  private session(): Promise<Session | undefined> {
    const now = this.now();
    const s = this.current;
    if (s && now < s.renewAtMs) return Promise.resolve(s);
    const login = this.loggingIn ?? this.startLogin();
    return s && now < s.expiresAtMs ? Promise.resolve(s) : login;
  }

  private startLogin(): Promise<Session | undefined> {
    const login = this.logIn();
    this.loggingIn = login;
    // a background renewal nobody waits on may fail: the next call logs in again
    void login.catch(() => undefined).then(() => {
      if (this.loggingIn === login) this.loggingIn = undefined;
    });
    return login;
  }

  private async logIn(): Promise<Session | undefined> {
    this.logins += 1;
    const sentAtMs = this.now();
    let answer: NodeSession;
    try {
      answer = await this.createSession();
    } catch (err) {
      if (err instanceof StarMinerApiError && err.status === 404) {
        // a gateway from before sessions: every call is signed from now on
        this.sessionsOn = false;
        return undefined;
      }
      throw err;
    }
    // timed by this client's clock from when the login was sent: a skewed clock renews on time all the same
    const lifeMs = answer.expiresInSec * 1000;
    const session: Session = { token: answer.token, renewAtMs: sentAtMs + lifeMs * SDK_LIMITS.nodeSessionRenewAtFraction, expiresAtMs: sentAtMs + lifeMs };
    this.current = session;
    return session;
  }
}

const nodePath = (nodeId: string): string => `/v1/providers/nodes/${encodeURIComponent(nodeId)}`;

/** A client of the gateway's provider API, signing with the node key. */
export function createProviderClient(opts: ProviderClientOptions): ProviderClient {
  return new ProviderClient(opts);
}
