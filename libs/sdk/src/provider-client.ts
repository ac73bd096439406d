import type { LocalAccount } from 'viem';
import { callJson, type FetchLike } from './http';
import { NonceSequence, normalizeOrigin, signNodeRequest } from './node-request';
import type { Assignment, NodeRegistration, ResultSubmission } from './types';

export interface ProviderClientOptions {
  baseUrl: string;
  /** The node key: every call is signed by it. */
  account: LocalAccount;
  /** The market's chain: every signature is bound to it (the gateway refuses another chain's). */
  chainId: number;
  /** The gateway's public origin the signatures are bound to; default: the origin of `baseUrl`. */
  origin?: string;
  fetch?: FetchLike;
  timeoutMs?: number;
  nonces?: NonceSequence;
}

/**
 * The provider agent's side of the gateway: every call signed by the node key with a fresh
 * nonce. Calls go out one at a time, in nonce order, because the gateway refuses a nonce lower
 * than one it has already accepted (two calls racing would see the later-signed one refused).
 * Signatures are bound to the deployment (chain id, gateway origin), so they replay nowhere else.
 */
export class ProviderClient {
  private readonly nonces: NonceSequence;
  private readonly origin: string;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ProviderClientOptions) {
    this.nonces = opts.nonces ?? new NonceSequence();
    this.origin = normalizeOrigin(opts.origin ?? opts.baseUrl);
  }

  get address(): `0x${string}` {
    return this.opts.account.address;
  }

  async register(registration: NodeRegistration): Promise<{ nodeId: string }> {
    return this.call('POST', '/v1/providers/nodes', registration);
  }

  async heartbeat(nodeId: string): Promise<{ ok: boolean }> {
    return this.call('POST', `/v1/providers/nodes/${encodeURIComponent(nodeId)}/heartbeat`);
  }

  async assignments(nodeId: string): Promise<Assignment[]> {
    const body = await this.call<{ assignments: Assignment[] }>('GET', `/v1/providers/nodes/${encodeURIComponent(nodeId)}/assignments`);
    return body.assignments;
  }

  async start(nodeId: string, jobId: string): Promise<{ status: string }> {
    return this.call('POST', `/v1/providers/nodes/${encodeURIComponent(nodeId)}/jobs/${encodeURIComponent(jobId)}/start`);
  }

  async submitResult(nodeId: string, jobId: string, result: ResultSubmission): Promise<{ status: string }> {
    return this.call('POST', `/v1/providers/nodes/${encodeURIComponent(nodeId)}/jobs/${encodeURIComponent(jobId)}/result`, result);
  }

  private call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const run = async (): Promise<T> => {
      const rawBody = body === undefined ? undefined : JSON.stringify(body);
      const headers = await signNodeRequest(this.opts.account, { chainId: this.opts.chainId, origin: this.origin, method, path, body: rawBody, nonce: this.nonces.next() });
      return (await callJson<T>(this.opts.baseUrl, { method, path, rawBody, headers: { ...headers } }, this.opts)).body;
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
