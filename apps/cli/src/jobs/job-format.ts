import { agpu, duration, fields, instant, NONE, printable, table } from '../shared/output';

/**
 * What the CLI shows of a job: the fields it reads, by the API's names. The SDK's Job is passed
 * in as it is (it has these and more); a field the answer leaves out shows as `-`.
 */
export interface JobView {
  jobId: string;
  status: string;
  category?: string;
  urgency?: string;
  budgetWei?: string;
  expectedRuntimeSec?: number;
  nodeId?: string | null;
  gpuCount?: number | null;
  priceWeiPerGpuHour?: string | null;
  costWei?: string | null;
  contractAddress?: string | null;
  txHashes?: { open?: string | null; settle?: string | null } | null;
  result?: { output?: string | null; resultHash?: string | null } | null;
  waitingReason?: string | null;
  failure?: { code?: string | null; reason?: string | null } | null;
  submittedAt?: string | null;
  deadlineAt?: string | null;
  escrowWei?: string | null;
  runwaySec?: number | null;
  redundancy?: {
    copyIndex: number;
    copies: number;
    runs?: { jobId: string; nodeId?: string | null; outcome?: string | null }[] | null;
    verdict?: { kind: string; reason: string } | null;
  } | null;
}

/** A redundant job's group in one line: this copy, each copy's node and outcome, the verdict. */
function redundancyText(r: JobView['redundancy']): string | undefined {
  if (!r) return undefined;
  const runs = (r.runs ?? []).map((x) => `${x.jobId} on ${x.nodeId ?? '-'}: ${x.outcome ?? 'pending'}`).join('; ');
  const verdict = r.verdict ? `${r.verdict.kind} (${r.verdict.reason})` : 'not yet';
  return `copy ${r.copyIndex} of ${r.copies}${runs ? `; ${runs}` : ''}; verdict: ${verdict}`;
}

/** Output past this many characters is cut in the human view (`--json` has all of it). */
export const OUTPUT_SHOWN_MAX = 200;

const failureText = (f: JobView['failure']): string | undefined =>
  f && (f.code || f.reason) ? [f.code, f.reason].filter((x) => x).join(': ') : undefined;

/** `starminer jobs get`: one job, field by field; fields that do not apply yet are left out. */
export function jobDetails(j: JobView): string {
  const output = j.result?.output ?? undefined;
  return fields([
    ['job', j.jobId],
    ['status', j.status],
    ['waiting', j.waitingReason ?? undefined],
    ['failure', failureText(j.failure)],
    ['category', j.category],
    ['urgency', j.urgency],
    ['budget', j.budgetWei === undefined ? undefined : agpu(j.budgetWei)],
    ['runtime', j.expectedRuntimeSec === undefined ? undefined : duration(j.expectedRuntimeSec)],
    ['node', j.nodeId ?? undefined],
    ['gpus', j.gpuCount === null || j.gpuCount === undefined ? undefined : String(j.gpuCount)],
    ['price', j.priceWeiPerGpuHour ? `${agpu(j.priceWeiPerGpuHour)} per GPU-hour` : undefined],
    ['cost', j.costWei ? agpu(j.costWei) : undefined],
    ['contract', j.contractAddress ?? undefined],
    ['open tx', j.txHashes?.open ?? undefined],
    ['settle tx', j.txHashes?.settle ?? undefined],
    ['result', j.result?.resultHash ?? undefined],
    ['output', output ? (output.length > OUTPUT_SHOWN_MAX ? `${output.slice(0, OUTPUT_SHOWN_MAX)}… (${output.length} chars; --json for all)` : output) : undefined],
    ['submitted', j.submittedAt ? instant(j.submittedAt) : undefined],
    ['deadline', j.deadlineAt ? instant(j.deadlineAt) : undefined],
    ['escrow', j.escrowWei ? agpu(j.escrowWei) : undefined],
    ['runway', j.runwaySec === null || j.runwaySec === undefined ? undefined : duration(j.runwaySec)],
    ['redundancy', redundancyText(j.redundancy)],
  ]);
}

/** What `starminer jobs top-up` shows of a top-up (the SDK's TopUp). */
export interface TopUpView {
  jobId: string;
  topUpId: string;
  extraRuntimeSec: number;
  extraCostWei: string;
  escrowWei: string;
  deadlineAt: string;
  txHash: string;
}

/** `starminer jobs top-up`: the top-up, field by field. */
export function topUpDetails(t: TopUpView): string {
  return fields([
    ['job', t.jobId],
    ['top-up', t.topUpId],
    ['added', duration(t.extraRuntimeSec)],
    ['paid', agpu(t.extraCostWei)],
    ['escrow', agpu(t.escrowWei)],
    ['deadline', instant(t.deadlineAt)],
    ['tx', t.txHash],
  ]);
}

/** `starminer jobs list`: one row per job. */
export function jobTable(jobs: readonly JobView[]): string {
  return table(
    ['JOB', 'STATUS', 'CATEGORY', 'BUDGET', 'COST', 'NODE', 'SUBMITTED'],
    jobs.map((j) => [j.jobId, j.status, j.category, j.budgetWei === undefined ? NONE : agpu(j.budgetWei), j.costWei ? agpu(j.costWei) : NONE, j.nodeId, instant(j.submittedAt)]),
  );
}

/** One update of a job, as the SSE stream and the history give it (the SDK's JobUpdate has these and more). */
export interface JobUpdateView {
  seq: string;
  type: string;
  status: string;
  at: string;
  waitingReason?: string;
  nodeId?: string;
  costWei?: string;
  contractAddress?: string;
  txHash?: string | null;
  resultHash?: string;
  failure?: { code: string; reason: string };
  deadlineUnixSec?: number;
  runwaySec?: number;
  escrowWei?: string;
  extraRuntimeSec?: number;
}

/** What an update says beyond its type: the reason, the node and price, the contract, the transaction (control characters escaped: it is the gateway's and the provider's text). */
export function updateDetail(u: JobUpdateView): string {
  return printable(rawDetail(u));
}

function rawDetail(u: JobUpdateView): string {
  const parts: string[] = [];
  if (u.waitingReason) parts.push(u.waitingReason);
  if (u.nodeId) parts.push(`node ${u.nodeId}`);
  if (u.costWei) parts.push(`cost ${agpu(u.costWei)}`);
  if (u.contractAddress) parts.push(`contract ${u.contractAddress}`);
  if (u.resultHash) parts.push(`result ${u.resultHash}`);
  if (u.txHash) parts.push(`tx ${u.txHash}`);
  if (u.failure) parts.push(`${u.failure.code}: ${u.failure.reason}`);
  if (u.extraRuntimeSec !== undefined) parts.push(`+${duration(u.extraRuntimeSec)}`);
  if (u.escrowWei) parts.push(`escrow ${agpu(u.escrowWei)}`);
  if (u.runwaySec !== undefined) parts.push(`runway ${duration(u.runwaySec)}`);
  if (u.deadlineUnixSec !== undefined) parts.push(`deadline ${instant(new Date(u.deadlineUnixSec * 1000).toISOString())}`);
  return parts.join(', ');
}

/** `starminer jobs watch`: one line per update, as it happens. */
export function updateLine(u: JobUpdateView): string {
  const detail = updateDetail(u);
  return `${instant(u.at)}  ${printable(u.status).padEnd(10)}  ${printable(u.type)}${detail ? `  ${detail}` : ''}`;
}

/** `starminer jobs history`: every update so far. */
export function historyTable(updates: readonly JobUpdateView[]): string {
  return table(
    ['SEQ', 'AT', 'STATUS', 'UPDATE', 'DETAIL'],
    updates.map((u) => [u.seq, instant(u.at), u.status, u.type, updateDetail(u)]),
  );
}

/** The spinner's text while a job is waited on. */
export function waitText(jobId: string, u: Pick<JobUpdateView, 'status' | 'type' | 'waitingReason'> | undefined): string {
  if (!u) return `job ${printable(jobId)}: waiting for its first update`;
  return printable(`job ${jobId}: ${u.status}${u.waitingReason ? ` (${u.waitingReason})` : ''}`);
}
