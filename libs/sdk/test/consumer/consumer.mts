// Type-checked (never run) in the scratch project against the INSTALLED declarations, the way a
// TypeScript user's ESM project resolves them (moduleResolution nodenext: the `import` condition).
// Each @ts-expect-error is a probe: were a type `any`, it would be unused, and tsc would fail.
import { createClient, formatAgpu, parseAgpu, StarMinerApiError, type Job, type JobStatus, type JobUpdate, type Quote } from '@starminer/sdk';
import { createProviderClient, type Assignment } from '@starminer/sdk/provider';
import { privateKeyToAccount } from 'viem/accounts';

export async function typed(): Promise<void> {
  const sm = createClient({ baseUrl: 'http://127.0.0.1:8080', apiKey: 'sm_x', retry: { maxAttempts: 2 } });
  const job: Job = await sm.getJob({ jobId: 'j1', signal: AbortSignal.timeout(1000) });
  const status: JobStatus = job.status;
  const quote: Quote = await sm.createQuote({
    job: { category: 'inference', budgetWei: parseAgpu('1'), urgency: 'normal', latencyPreference: 'normal', requirements: job.requirements, expectedRuntimeSec: 60, workload: job.workload },
  });
  const updates: JobUpdate[] = [];
  for await (const u of sm.watchJob({ jobId: job.jobId })) updates.push(u);
  const text: string = formatAgpu(BigInt(job.budgetWei));
  // @ts-expect-error one object parameter per call
  await sm.getJob('j1');
  // @ts-expect-error not a status
  const wrong: JobStatus = 'done';
  // @ts-expect-error a quote says whether it is feasible as a boolean
  const feasible: string = quote.feasible;
  const p = createProviderClient({ baseUrl: 'http://127.0.0.1:8080', chainId: 31337, account: privateKeyToAccount(`0x${'1'.repeat(64)}`) });
  const assignments: Assignment[] = (await p.getAssignments({ nodeId: 'n1' })).assignments;
  const err = new StarMinerApiError(404, 'JOB_NOT_FOUND', 'no such job');
  void [status, text, wrong, feasible, assignments, err.retryAfterSec];
}
