import { signResult } from '@starminer/chain';
import { resultHashOf } from '@starminer/domain';
import { COMMANDS, type PayloadOf, type Workload } from '@starminer/events';
import { describeError } from '@starminer/service-kit';
import { eventually, serviceUnderTest } from '@starminer/service-testing';
import { SettlementModule } from '../settlement.module';
import { eventsOf, openContract, resultOf, type OpenContract } from '../testing/settlement-fixture';
import { verificationCostOf } from './verification-cost';
import { VerificationPool } from './verification-pool';

// one heavy thread, as on a 2-core machine, and no queue: the heavy job takes all of the heavy lane
const under = serviceUnderTest(SettlementModule, { chain: true, env: { SETTLEMENT_VERIFY_THREADS: '1', SETTLEMENT_VERIFY_QUEUE_MAX: '0' } });

/** Legal (under LIMITS.hashChainIterationsMax), and seconds of recompute on any machine. */
const HEAVY: Workload = { kind: 'hash-chain', seed: 'heavy-job-spec', iterations: 5_000_000 };
/** The heavy job's verification, run to its end, may take this long on a loaded machine. */
const HEAVY_WAIT_MS = 240_000;

type Submission = PayloadOf<typeof COMMANDS.settlement.submitResult>;
const submit = (p: Submission, timeoutMs?: number) => under.service.bus.send(COMMANDS.settlement.submitResult, p, { timeoutMs });
const pool = () => under.service.app.get(VerificationPool);

async function recorded(jobId: string, type: 'ContractReleased' | 'ContractRefunded', timeoutMs = 30_000): Promise<void> {
  await eventually(async () => (await eventsOf(under.infra, `trade.contract.${jobId}`)).some((e) => e.type === type), timeoutMs);
}

/** A small job's contract opened and its correct result signed, ready to send. */
async function smallJob(jobId: string): Promise<Submission> {
  return resultOf(under.infra, await openContract(under.infra, { jobId }));
}

/** Milliseconds from a small job's submission to its release recorded on the log. */
async function settleTime(p: Submission): Promise<number> {
  const startedAt = performance.now();
  await expect(submit(p)).resolves.toEqual({ status: 'settling', outcome: 'release' });
  await recorded(p.jobId, 'ContractReleased');
  return performance.now() - startedAt;
}

/**
 * The heavy job's submission: an output whose hash matches but which is not the hash chain's, so
 * the test does not spend the recompute itself; settlement recomputes all 5M steps to find out.
 */
async function heavySubmission(c: OpenContract): Promise<Submission> {
  const output = 'not the hash chain of 5M steps';
  const resultHash = resultHashOf(output);
  const proofHash = resultHashOf(`no proof of ${output}`);
  const signature = await signResult(c.node, { addresses: { escrow: under.infra.chain!.addresses.escrow }, chainId: under.infra.chain!.anvil.chainId, jobId: c.jobId, resultHash, proofHash });
  return { jobId: c.jobId, nodeId: c.nodeId, nodeAddress: c.node.address, output, resultHash, proofHash, signature };
}

describe('verification off the event loop', () => {
  it(
    "given a heavy job's result being recomputed, then another job settles about as fast as alone, and the heavy one is decided too",
    async () => {
      expect(verificationCostOf(HEAVY).lane).toBe('heavy');
      await settleTime(await smallJob('job-v-warm')); // workers loaded, connections open
      const alone = await settleTime(await smallJob('job-v-alone'));

      // everything prepared first: the clock runs from the small job's submission, sent right after the heavy one's
      const small = await smallJob('job-v-with-heavy');
      const heavy = await openContract(under.infra, { jobId: 'job-v-heavy', workload: HEAVY });
      const heavyReply = submit(await heavySubmission(heavy), HEAVY_WAIT_MS);
      heavyReply.catch(() => undefined); // awaited below; a failure before that must not go unhandled
      const withHeavy = await settleTime(small);
      // generous: the two timings come from the same run, and only their ratio is asserted
      expect({ alone, withHeavy, bounded: withHeavy < 5 * alone + 2_000 }).toMatchObject({ bounded: true });
      // and the heavy recompute was running all along: the two overlapped
      expect(pool().stats().heavy).toMatchObject({ active: 1 });

      // another heavy job finds the heavy lane full: retry later, nothing decided
      const second = await openContract(under.infra, { jobId: 'job-v-busy', workload: HEAVY });
      const busy = await submit(await heavySubmission(second)).then(() => undefined, (e: unknown) => e);
      // as every edge answers it: a 503 with the code and the retry advice
      const answered = describeError(busy);
      expect(answered).toMatchObject({ kind: 'unavailable', body: { code: 'VERIFICATION_BUSY', details: { lane: 'heavy', retryAfterSec: expect.any(Number) } } });
      expect(answered.body.details!.retryAfterSec).toBeGreaterThanOrEqual(1);
      expect((await eventsOf(under.infra, 'trade.contract.job-v-busy')).map((e) => e.type)).toEqual(['ContractOpened']);

      // the heavy job is decided once its recompute ends: a wrong result, refunded
      await expect(heavyReply).resolves.toEqual({ status: 'settling', outcome: 'refund' });
      await recorded('job-v-heavy', 'ContractRefunded');
      const events = await eventsOf(under.infra, 'trade.contract.job-v-heavy');
      expect(events.find((e) => e.type === 'ResultRejected')?.data).toMatchObject({ code: 'RESULT_WRONG' });
      expect(pool().stats().heavy).toEqual({ threads: 1, active: 0, queued: 0 });

      const metrics = await (await fetch(`${under.service.url}/metrics`)).text();
      expect(metrics).toMatch(/starminer_verify_total\{(?=[^}]*lane="heavy")(?=[^}]*outcome="rejected")[^}]*\} 1\n/);
      expect(metrics).toMatch(/starminer_verify_threads\{(?=[^}]*lane="heavy")[^}]*\} 1\n/);
    },
    HEAVY_WAIT_MS + 60_000,
  );
});
