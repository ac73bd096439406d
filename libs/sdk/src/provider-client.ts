import type { LocalAccount } from 'viem';
import { send, type RequestSpec, type TransportOptions } from './http';
import { NonceSequence, normalizeOrigin, sha256Hex, signNodeRequest } from './node-request';
import type { Assignments, EarningsPage, HeartbeatAck, HeartbeatRequest, NodeRegistered, NodeStatus, ProviderJobStatus, RegisterNodeRequest, ResultAccepted, SubmitResultRequest } from './types';

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
 */
export class ProviderClient {
  private readonly nonces: NonceSequence;
  private readonly origin: string;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ProviderClientOptions) {
    this.nonces = opts.nonces ?? new NonceSequence();
    this.origin = normalizeOrigin(opts.origin ?? opts.baseUrl);
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
   * heartbeat (`alive: true` in the answer). The node's other calls wait behind it (one signed call
   * at a time), so keep waitMs under the heartbeat interval.
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

  private call<T>(spec: Omit<RequestSpec, 'headers'>): Promise<T> {
    const { account, chainId } = this.opts;
    const sign = async (sent: { method: string; path: string; rawBody: string | undefined }) => ({
      ...(await signNodeRequest(account, { chainId, origin: this.origin, method: sent.method, path: sent.path, body: sent.rawBody, nonce: this.nonces.next() })),
    });
    const run = async (): Promise<T> => (await send(this.opts, { ...spec, headers: sign })) as T;
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

const nodePath = (nodeId: string): string => `/v1/providers/nodes/${encodeURIComponent(nodeId)}`;

/** A client of the gateway's provider API, signing with the node key. */
export function createProviderClient(opts: ProviderClientOptions): ProviderClient {
  return new ProviderClient(opts);
}
