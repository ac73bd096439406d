import { keccak256, stringToBytes, type LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { agpuBalance, jobIdToBytes32, mintAgpu, openComputeContract, signResult } from '@starminer/chain';
import { draft, resultHashOf, runBuiltInWorkload } from '@starminer/domain';
import { COMMANDS, decodeEvent, EXAMPLE_EVENT_DATA, type EventData, type PayloadOf, type TradeEvent, type Workload } from '@starminer/events';
import { appendDrafts, devKey, ROLE_INDEX, type TestInfra } from '@starminer/service-testing';

/**
 * What settlement's specs need of the rest of the market, without its services: a requester
 * funded with AGPU, a compute contract opened on anvil with the deployer role's key (as the
 * deployer service does), and the `JobSubmitted` and `ContractOpened` the deployer and intake
 * would have appended; results computed and signed as a provider agent does.
 */

export const AGPU = 10n ** 18n;
export const WORKLOAD: Workload = { kind: 'hash-chain', seed: 'settlement-spec', iterations: 1000 };

export interface OpenContract {
  readonly jobId: string;
  readonly nodeId: string;
  /** The node key: signs the result, receives the release. */
  readonly node: LocalAccount;
  readonly requester: LocalAccount;
  readonly escrowWei: bigint;
  readonly deadlineUnixSec: number;
  readonly workload: Workload;
  readonly opened: EventData<'ContractOpened'>;
  /** The stream sequence of its ContractOpened. */
  readonly openedSeq: number;
}

export interface OpenContractOptions {
  readonly jobId: string;
  readonly nodeId?: string;
  readonly node?: LocalAccount;
  readonly escrowWei?: bigint;
  /** Seconds from now (the later of the wall clock and the chain's) to the deadline. */
  readonly deadlineInSec?: number;
  readonly workload?: Workload;
  /** Also append `JobMatched` (slashing reads the node of the job from it). */
  readonly matched?: boolean;
  /** The job requires a TEE (its JobSubmitted's requirements.tee). */
  readonly tee?: boolean;
  /** The job is one copy of a redundant group (its JobSubmitted's redundancy). */
  readonly redundantCopy?: EventData<'JobSubmitted'>['redundantCopy'];
}

/** A job's contract opened on chain (escrow taken from a freshly funded requester) and on the log. */
export async function openContract(infra: TestInfra, o: OpenContractOptions): Promise<OpenContract> {
  const chain = infra.chain!;
  const { publicClient } = chain.clients;
  const node = o.node ?? privateKeyToAccount(generatePrivateKey());
  const nodeId = o.nodeId ?? `node-${o.jobId}`;
  const requester = privateKeyToAccount(generatePrivateKey());
  const escrowWei = o.escrowWei ?? 5n * AGPU;
  const workload = o.workload ?? WORKLOAD;
  await mintAgpu(chain.clients.wallet(chain.roles.minter), publicClient, { token: chain.addresses.token, to: requester.address, amountWei: escrowWei });
  const chainNow = Number((await publicClient.getBlock({ blockTag: 'latest' })).timestamp);
  const deadlineUnixSec = Math.max(chainNow, Math.floor(Date.now() / 1000)) + (o.deadlineInSec ?? 3600);
  const termsHash = keccak256(stringToBytes(`terms of ${o.jobId}`));
  const deployer = chain.clients.wallet(privateKeyToAccount(devKey(ROLE_INDEX.deployer)));
  const open = await openComputeContract(deployer, publicClient, {
    addresses: chain.addresses,
    jobId: o.jobId,
    requester,
    provider: node.address,
    costWei: escrowWei,
    expectedRuntimeSec: 60,
    deadlineSec: deadlineUnixSec,
    termsHash,
  });
  await appendDrafts(infra.log, 'job', o.jobId, [
    draft('JobSubmitted', {
      ...EXAMPLE_EVENT_DATA.JobSubmitted,
      jobId: o.jobId,
      requesterAddress: requester.address,
      budgetWei: escrowWei,
      workload,
      requirements: { ...EXAMPLE_EVENT_DATA.JobSubmitted.requirements, tee: o.tee ?? false },
      ...(o.redundantCopy ? { redundantCopy: o.redundantCopy } : {}),
    }),
    ...(o.matched ? [draft('JobMatched', { ...EXAMPLE_EVENT_DATA.JobMatched, jobId: o.jobId, nodeId, nodeAddress: node.address, costWei: escrowWei })] : []),
  ]);
  const opened: EventData<'ContractOpened'> = {
    jobId: o.jobId,
    chainJobId: jobIdToBytes32(o.jobId),
    contractAddress: open.contractAddress,
    requesterAddress: requester.address,
    nodeAddress: node.address,
    escrowWei,
    deadlineUnixSec,
    termsHash,
    txHash: open.txHash,
    blockNumber: open.blockNumber === null ? null : open.blockNumber.toString(),
  };
  const [openedSeq] = await appendDrafts(infra.log, 'contract', o.jobId, [draft('ContractOpened', opened)], { actor: 'service:deployer' });
  return { jobId: o.jobId, nodeId, node, requester, escrowWei, deadlineUnixSec, workload, opened, openedSeq };
}

/** A contract only on the log (no chain), with a deadline far ahead: for commands that never reach the chain. */
export async function contractOnLog(infra: TestInfra, jobId: string, nodeAddress: string, over: Partial<EventData<'ContractOpened'>> = {}): Promise<number> {
  const [seq] = await appendDrafts(infra.log, 'contract', jobId, [
    draft('ContractOpened', {
      ...EXAMPLE_EVENT_DATA.ContractOpened,
      jobId,
      chainJobId: jobIdToBytes32(jobId),
      nodeAddress,
      deadlineUnixSec: Math.floor(Date.now() / 1000) + 24 * 3600,
      ...over,
    }),
  ]);
  return seq;
}

type SubmitPayload = PayloadOf<typeof COMMANDS.settlement.submitResult>;

/**
 * The submission a provider agent would send: the recomputed (correct) result unless `output` is
 * given, signed (EIP-712, for this escrow and chain) by `signer`, the node key unless told.
 */
export async function resultOf(infra: TestInfra, c: OpenContract, o: { output?: string; signer?: LocalAccount } = {}): Promise<SubmitPayload> {
  const computed = runBuiltInWorkload(c.workload);
  const output = o.output ?? computed.output;
  const resultHash = o.output === undefined ? computed.resultHash : resultHashOf(output);
  const proofHash = o.output === undefined ? computed.proofHash : resultHashOf(`no proof of ${output}`);
  const signature = await signResult(o.signer ?? c.node, { addresses: { escrow: infra.chain!.addresses.escrow }, chainId: infra.chain!.anvil.chainId, jobId: c.jobId, resultHash, proofHash });
  return { jobId: c.jobId, nodeId: c.nodeId, nodeAddress: c.node.address, output, resultHash, proofHash, signature };
}

/** The events of one subject, decoded by the catalogue. */
export async function eventsOf(infra: TestInfra, subject: string): Promise<TradeEvent[]> {
  const { events } = await infra.log.readSubject(subject, { decode: decodeEvent });
  return events.map((e) => e.event as TradeEvent);
}

export const balanceOf = (infra: TestInfra, account: `0x${string}`): Promise<bigint> =>
  agpuBalance(infra.chain!.clients.publicClient, { token: infra.chain!.addresses.token, account });
