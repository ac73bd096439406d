/**
 * What the chaos harness reads once the market is quiet: the trade log (NATS JetStream, read with an
 * ordered consumer), the escrow and the token on chain, and the jobs through the gateway's API.
 * Every read is bounded (events, jobs, time).
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { escrowAbi, readComputeContract, tokenAbi, agpuBalance, jobIdToBytes32, type ChainPublicClient, type MarketAddresses } from '@starminer/chain';
import type { ChainJob, LogJob, TokenSnapshot } from './counts';

/** The most events one chaos run reads back from the log. */
export const LOG_EVENTS_MAX = 500_000;
/** Messages asked for per fetch of the log. */
const LOG_FETCH_BATCH = 1_000;
const LOG_FETCH_EXPIRES_MS = 5_000;
/** Concurrent chain reads of compute contracts. */
const CHAIN_READ_CONCURRENCY = 8;

interface Envelope {
  type: string;
  aggregateId: string;
  occurredAt: string;
  data: Record<string, unknown>;
}

/** Every job the log knows, as counts.ts wants it. */
export async function readLogJobs(natsUrl: string, streamName = 'TRADE', subjectPrefix = 'trade'): Promise<Map<string, LogJob>> {
  const nc = await connect({ servers: natsUrl, name: 'chaos-observer', maxReconnectAttempts: 10 });
  const jobs = new Map<string, LogJob & { submittedAtSec: number; matchedAtSec?: number; deadlineSec: number }>();
  try {
    const info = await (await jetstreamManager(nc)).streams.info(streamName);
    const lastSeq = info.state.last_seq;
    if (lastSeq > LOG_EVENTS_MAX) throw new Error(`the log has ${lastSeq} events, more than a chaos run reads (${LOG_EVENTS_MAX})`);
    const consumer = await jetstream(nc).consumers.get(streamName, { filter_subjects: [`${subjectPrefix}.job.>`, `${subjectPrefix}.contract.>`] });
    const utf8 = new TextDecoder();
    let seen = 0;
    let done = lastSeq === 0;
    while (!done) {
      const batch = await consumer.fetch({ max_messages: LOG_FETCH_BATCH, expires: LOG_FETCH_EXPIRES_MS });
      let got = 0;
      for await (const m of batch) {
        got += 1;
        seen += 1;
        const e = JSON.parse(utf8.decode(m.data)) as Envelope;
        apply(jobs, e);
        if (m.seq >= lastSeq) done = true;
      }
      if (got === 0) done = true; // nothing more matches the filter up to the end
      if (seen > LOG_EVENTS_MAX) throw new Error(`read more than ${LOG_EVENTS_MAX} events`);
    }
  } finally {
    await nc.close();
  }
  for (const j of jobs.values()) if (j.deadlineUnixSec === 0) j.deadlineUnixSec = (j.matchedAtSec ?? j.submittedAtSec) + j.deadlineSec;
  return jobs;
}

function apply(jobs: Map<string, LogJob & { submittedAtSec: number; matchedAtSec?: number; deadlineSec: number }>, e: Envelope): void {
  const jobId = typeof e.data.jobId === 'string' ? e.data.jobId : undefined;
  if (!jobId) return;
  let j = jobs.get(jobId);
  if (!j) {
    j = { jobId, orgId: '', submitted: 0, released: 0, refunded: 0, cancelled: 0, failed: 0, chainEffectLost: 0, refundOnChain: false, deadlineUnixSec: 0, submittedAtSec: 0, deadlineSec: 0 };
    jobs.set(jobId, j);
  }
  const atSec = Math.floor(Date.parse(e.occurredAt) / 1000);
  switch (e.type) {
    case 'JobSubmitted':
      j.submitted += 1;
      j.orgId = String(e.data.orgId);
      j.submittedAtSec = atSec;
      j.deadlineSec = Number(e.data.deadlineSec);
      break;
    case 'JobMatched':
      j.matchedAtSec = atSec;
      break;
    // ContractReassigned: re-match on failure, the escrow moved to another node with a deadline of its own
    case 'ContractOpened':
    case 'ContractReassigned':
      if (typeof e.data.deadlineUnixSec === 'number') j.deadlineUnixSec = e.data.deadlineUnixSec;
      break;
    case 'ContractReleased':
      j.released += 1;
      break;
    case 'ContractRefunded':
      j.refunded += 1;
      if (e.data.txHash) j.refundOnChain = true;
      break;
    case 'JobCancelled':
      j.cancelled += 1;
      break;
    case 'JobFailed':
      j.failed += 1;
      break;
    case 'ChainEffectLost':
      j.chainEffectLost += 1;
      break;
    default:
      break;
  }
}

/** The compute contracts of these jobs, and how many release/refund events each has on chain. */
export async function readChainJobs(publicClient: ChainPublicClient, addresses: MarketAddresses, jobIds: readonly string[]): Promise<Map<string, ChainJob>> {
  const fromBlock = BigInt(addresses.deployBlock ?? 0);
  const [released, refunded] = await Promise.all(
    (['ComputeContractReleased', 'ComputeContractRefunded'] as const).map((eventName) =>
      publicClient.getContractEvents({ address: addresses.escrow, abi: escrowAbi(), eventName, fromBlock, toBlock: 'latest' }),
    ),
  );
  const countBy = (logs: readonly { topics: readonly (string | null)[] }[]): Map<string, number> => {
    const m = new Map<string, number>();
    for (const l of logs) {
      const key = (l.topics[1] ?? '').toLowerCase();
      m.set(key, (m.get(key) ?? 0) + 1);
    }
    return m;
  };
  const rel = countBy(released as unknown as { topics: (string | null)[] }[]);
  const ref = countBy(refunded as unknown as { topics: (string | null)[] }[]);
  const out = new Map<string, ChainJob>();
  for (let i = 0; i < jobIds.length; i += CHAIN_READ_CONCURRENCY) {
    const slice = jobIds.slice(i, i + CHAIN_READ_CONCURRENCY);
    const states = await Promise.all(slice.map((jobId) => readComputeContract(publicClient, { addresses, jobId })));
    slice.forEach((jobId, k) => {
      const key = jobIdToBytes32(jobId).toLowerCase();
      const s = states[k];
      const releasedEvents = rel.get(key) ?? 0;
      const refundedEvents = ref.get(key) ?? 0;
      if (s.status === 'none' && releasedEvents + refundedEvents === 0) return; // never on chain
      out.set(jobId, { status: s.status, costWei: s.costWei, releasedEvents, refundedEvents });
    });
  }
  return out;
}

export async function readTokens(publicClient: ChainPublicClient, addresses: MarketAddresses): Promise<TokenSnapshot> {
  const [supplyWei, escrowWei] = await Promise.all([
    publicClient.readContract({ address: addresses.token, abi: tokenAbi(), functionName: 'totalSupply' }) as Promise<bigint>,
    agpuBalance(publicClient, { token: addresses.token, account: addresses.escrow }),
  ]);
  return { supplyWei, escrowWei };
}
