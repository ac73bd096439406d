/**
 * A simulated fleet: N provider nodes in one process, each speaking the real agent protocol to the
 * gateway (its own node key; one signed login, then its session token on every call, as the agent
 * does (issue 13), or with `sessions: false` every call signed with a fresh nonce; registration,
 * heartbeats, long polls for assignments, start, a result signed with EIP-712 for the escrow). The workloads it is
 * given are built-ins that cost almost nothing to compute and verify (a hash chain of a few links),
 * so that a bench measures the platform, not the agents.
 *
 * Each node works through its assignments one at a time, as the provider agent does; the nodes run
 * side by side. What a node does is bounded: attempts per job, jobs remembered as done.
 */
import { setMaxListeners } from 'node:events';
import { keccak256, toHex, type LocalAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { signResult } from '@starminer/chain';
import { GPU_MODELS, runBuiltInWorkload } from '@starminer/domain';
import { AliveClock, StarMinerApiError, createProviderClient, type Assignment, type NodeRegistration, type ProviderClient } from '@starminer/sdk/provider';

/** The regions the fleet spreads over (providers' words; the market knows no fixed list). */
export const FLEET_REGIONS = ['us-east', 'us-west', 'eu-west', 'eu-central', 'ap-south', 'ap-northeast'] as const;
/**
 * How long one long poll waits at the gateway. A long poll is the node's heartbeat too (`alive`),
 * so, as the provider agent does, a node sends no heartbeat of its own while it polls: under
 * FLEET_HEARTBEAT_MS, so a new poll starts before a beat is due.
 */
export const FLEET_POLL_WAIT_MS = 8_000;
/** A node heartbeats this often when its polls did not count as heartbeats (the registry's timeout is 30 s). */
export const FLEET_HEARTBEAT_MS = 10_000;
/** Registrations in flight at once. */
export const FLEET_REGISTER_CONCURRENCY = 16;
/** Attempts at one registration (network errors, 429, 503) before the fleet gives up. */
export const FLEET_REGISTER_ATTEMPTS_MAX = 10;
/** Attempts at one job (start or result failing) before the node gives it up; the contract refunds it at its deadline. */
export const FLEET_JOB_ATTEMPTS_MAX = 10;
/** Job ids a node remembers as done (the oldest forgotten first). */
export const FLEET_DONE_MAX = 1_000;
/** The pause after a failed poll, doubling per failure in a row up to FLEET_BACKOFF_MS_MAX. */
export const FLEET_BACKOFF_MS = 250;
export const FLEET_BACKOFF_MS_MAX = 5_000;
export const FLEET_NODES_MAX = 20_000;

export interface FleetOptions {
  gatewayUrl: string;
  chainId: number;
  nodes: number;
  gpusPerNode: number;
  /** Node keys follow from it, so a rerun with the same seed is the same fleet. */
  seed: string;
  pollWaitMs?: number;
  /** The nodes' fetch (default: the platform's); a spec passes one that checks answers against the OpenAPI document. */
  fetch?: typeof fetch;
  /** Node sessions, as the provider agent uses them (default true); false signs every call (what the bench measured before issue 13). */
  sessions?: boolean;
  log?: (line: string) => void;
}

export interface FleetStats {
  nodes: number;
  registered: number;
  polls: number;
  /** heartbeats sent on their own (polls that counted as heartbeats are not among them) */
  heartbeats: number;
  started: number;
  submitted: number;
  errors: Record<string, number>;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

const codeOf = (err: unknown): string => (err instanceof StarMinerApiError ? err.code : ((err as { code?: string })?.code ?? (err as Error)?.name ?? 'UNKNOWN'));

/** Node i of the fleet: its key (from the seed), GPU model and region (spread over the catalogue and the regions). */
export function fleetNode(seed: string, i: number, gpusPerNode: number): { account: LocalAccount; registration: NodeRegistration } {
  const account = privateKeyToAccount(keccak256(toHex(`starminer-fleet/${seed}/${i}`)));
  const models = Object.keys(GPU_MODELS);
  const gpuModel = models[i % models.length];
  // a region per model cycle, so every (model, region) market gets nodes
  const region = FLEET_REGIONS[Math.floor(i / models.length) % FLEET_REGIONS.length];
  return {
    account,
    registration: {
      nodeId: `fleet-${seed}-${String(i).padStart(5, '0')}`,
      providerId: `fleet-${seed}`,
      gpuModel,
      gpuCount: gpusPerNode,
      vramGiB: GPU_MODELS[gpuModel].vramGiB,
      region,
      latencyMs: 5 + (i % 40),
      tee: false,
      energy: { carbonGPerKwh: 50 + (i % 400), renewableShare: (i % 10) / 10 },
      benchmark: { kind: 'hash-chain-sha256', score: 1_000_000 + (i % 1000) * 1000, measuredAt: new Date().toISOString() },
      stakeWei: '0',
      runtimes: ['hash-chain', 'matmul'],
    },
  };
}

class SimNode {
  private readonly done = new Set<string>();
  private readonly attempts = new Map<string, number>();
  private readonly started = new Set<string>();
  private pollErrors = 0;
  private readonly alive = new AliveClock();

  constructor(
    private readonly client: ProviderClient,
    private readonly account: LocalAccount,
    readonly registration: NodeRegistration,
    private readonly stats: FleetStats,
    private readonly pollWaitMs: number,
  ) {}

  get nodeId(): string {
    return this.registration.nodeId;
  }

  async register(signal: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.client.registerNode({ registration: this.registration, signal });
        return;
      } catch (err) {
        if (err instanceof StarMinerApiError && err.status === 409) return; // registered by an earlier run
        const retryable = !(err instanceof StarMinerApiError) || err.status === 429 || err.status === 503;
        if (!retryable || attempt >= FLEET_REGISTER_ATTEMPTS_MAX || signal.aborted) throw err;
        await sleep(Math.min(FLEET_BACKOFF_MS_MAX, FLEET_BACKOFF_MS * 2 ** attempt), signal);
      }
    }
  }

  /** A heartbeat once FLEET_HEARTBEAT_MS passed without one (a long poll counts as one). */
  async heartbeatIfDue(signal: AbortSignal): Promise<void> {
    if (!this.alive.due(Date.now(), FLEET_HEARTBEAT_MS)) return;
    this.alive.beatSent(Date.now());
    this.stats.heartbeats += 1;
    await this.heartbeat(signal);
  }

  async heartbeat(signal: AbortSignal): Promise<void> {
    try {
      await this.client.heartbeat({ nodeId: this.nodeId, signal });
    } catch (err) {
      if (!signal.aborted) this.count(`heartbeat:${codeOf(err)}`);
    }
  }

  async pollLoop(signal: AbortSignal): Promise<void> {
    let waitMs = 0;
    while (!signal.aborted) {
      let assignments: Assignment[];
      const sentAt = Date.now();
      if (waitMs > 0) this.alive.pollSent(sentAt);
      try {
        const answer = await this.client.getAssignments({ nodeId: this.nodeId, waitMs, signal });
        assignments = answer.assignments;
        if (waitMs > 0) this.alive.pollAnswered(sentAt, answer.alive === true);
        this.stats.polls += 1;
        this.pollErrors = 0;
        // spread over [3/4, 1] of the wait: nodes registered together would otherwise poll in step,
        // a thousand polls landing on the gateway in the same few milliseconds every wait
        waitMs = Math.round(this.pollWaitMs * (0.75 + 0.25 * Math.random()));
      } catch (err) {
        if (waitMs > 0) this.alive.pollAnswered(sentAt, false);
        if (signal.aborted) return;
        this.count(`poll:${codeOf(err)}`);
        this.pollErrors += 1;
        await sleep(Math.min(FLEET_BACKOFF_MS_MAX, FLEET_BACKOFF_MS * 2 ** this.pollErrors), signal);
        continue;
      }
      let worked = false;
      for (const a of assignments) {
        if (signal.aborted) return;
        if (this.done.has(a.jobId)) continue;
        worked = true;
        await this.process(a, signal);
      }
      // only jobs it had done (the read model lags their end): do not ask again at once
      if (!worked && assignments.length > 0) await sleep(FLEET_BACKOFF_MS, signal);
    }
  }

  private async process(a: Assignment, signal: AbortSignal): Promise<void> {
    const attempt = (this.attempts.get(a.jobId) ?? 0) + 1;
    this.attempts.set(a.jobId, attempt);
    if (attempt > FLEET_JOB_ATTEMPTS_MAX) return this.finish(a.jobId, 'given-up');
    try {
      if (a.status === 'contracted' && !this.started.has(a.jobId)) {
        try {
          await this.client.startJob({ nodeId: this.nodeId, jobId: a.jobId, signal });
          this.stats.started += 1;
        } catch (err) {
          if (!(err instanceof StarMinerApiError && err.status === 409)) throw err;
        }
        this.started.add(a.jobId);
      }
      if (a.workload.kind === 'command') return this.finish(a.jobId, 'refused:command');
      const result = runBuiltInWorkload(a.workload);
      const signature = await signResult(this.account, {
        addresses: { escrow: a.market.addresses.escrow as `0x${string}` },
        chainId: a.market.chainId,
        jobId: a.jobId,
        resultHash: result.resultHash,
        proofHash: result.proofHash,
      });
      await this.client.submitResult({ nodeId: this.nodeId, jobId: a.jobId, result: { output: result.output, resultHash: result.resultHash, proofHash: result.proofHash, signature }, signal });
      this.stats.submitted += 1;
      this.finish(a.jobId);
    } catch (err) {
      if (signal.aborted) return;
      const code = codeOf(err);
      if (code === 'RESULT_ALREADY_FINAL') return this.finish(a.jobId);
      this.count(`job:${code}`);
      // a 4xx other than a conflict or a rate limit will not change on its own: give the job up
      if (err instanceof StarMinerApiError && err.status >= 400 && err.status < 500 && err.status !== 409 && err.status !== 429) this.finish(a.jobId, `refused:${code}`);
    }
  }

  private finish(jobId: string, why?: string): void {
    if (why) this.count(`job:${why}`);
    this.done.add(jobId);
    this.attempts.delete(jobId);
    this.started.delete(jobId);
    while (this.done.size > FLEET_DONE_MAX) this.done.delete(this.done.values().next().value as string);
  }

  private count(key: string): void {
    this.stats.errors[key] = (this.stats.errors[key] ?? 0) + 1;
  }
}

export interface Fleet {
  readonly stats: FleetStats;
  readonly nodeIds: readonly string[];
  /** Stops every loop (polls in flight are aborted) and waits for them. */
  stop(): Promise<void>;
}

/**
 * Registers the fleet (bounded concurrency, retried), then runs each node's heartbeats (spread over
 * the interval) and long-poll loop until stop().
 */
export async function startFleet(opts: FleetOptions): Promise<Fleet> {
  if (opts.nodes < 1 || opts.nodes > FLEET_NODES_MAX) throw new Error(`a fleet has 1..${FLEET_NODES_MAX} nodes, not ${opts.nodes}`);
  const stats: FleetStats = { nodes: opts.nodes, registered: 0, polls: 0, heartbeats: 0, started: 0, submitted: 0, errors: {} };
  const stopping = new AbortController();
  // every node's loops wait on the one stop signal
  setMaxListeners(0, stopping.signal);
  const nodes = Array.from({ length: opts.nodes }, (_, i) => {
    const { account, registration } = fleetNode(opts.seed, i, opts.gpusPerNode);
    const client = createProviderClient({ baseUrl: opts.gatewayUrl, chainId: opts.chainId, account, sessions: opts.sessions ?? true, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
    return new SimNode(client, account, registration, stats, opts.pollWaitMs ?? FLEET_POLL_WAIT_MS);
  });

  let next = 0;
  const t0 = Date.now();
  const registrar = async (): Promise<void> => {
    while (next < nodes.length && !stopping.signal.aborted) {
      const node = nodes[next++];
      await node.register(stopping.signal);
      await node.heartbeatIfDue(stopping.signal); // online now, not at its first beat
      stats.registered += 1;
      if (stats.registered % 250 === 0) opts.log?.(`fleet: ${stats.registered}/${nodes.length} nodes registered`);
    }
  };
  await Promise.all(Array.from({ length: FLEET_REGISTER_CONCURRENCY }, registrar));
  opts.log?.(`fleet: ${nodes.length} nodes registered in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const loops = nodes.map(async (node, i) => {
    // heartbeats spread over the interval, so the gateway sees them at an even rate
    const beat = (async () => {
      await sleep(Math.floor((i / nodes.length) * FLEET_HEARTBEAT_MS), stopping.signal);
      while (!stopping.signal.aborted) {
        await node.heartbeatIfDue(stopping.signal);
        await sleep(FLEET_HEARTBEAT_MS / 2, stopping.signal);
      }
    })();
    // polls spread over one wait from the start too: a thousand first polls at once would stay in step for minutes
    const poll = (async () => {
      await sleep(Math.floor((i / nodes.length) * (opts.pollWaitMs ?? FLEET_POLL_WAIT_MS)), stopping.signal);
      await node.pollLoop(stopping.signal);
    })();
    await Promise.all([beat, poll]);
  });
  const running = Promise.all(loops);
  return {
    stats,
    nodeIds: nodes.map((n) => n.nodeId),
    async stop() {
      stopping.abort();
      await running;
    },
  };
}
