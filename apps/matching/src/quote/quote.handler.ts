import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { DomainError, validateJobSpec } from '@starminer/domain';
import { COMMANDS, type PayloadOf, type PriceTerms, type QuoteAnswer, type ReplyOf } from '@starminer/events';
import { quoteJob, type JobQuote, type Quote } from '@starminer/matching';
import { CommandHandler } from '@starminer/service-kit';
import { EngineState } from '../engine/engine-state';
import { jobSpecOf } from '../engine/to-engine';
import { ROUND_INTERVAL_MS } from '../match-round/match-round';

const QUOTE = COMMANDS.matching.quote;

/** What a quote asks a caller to wait while the engine rebuilds at start: a rebuild from a snapshot takes seconds. */
export const QUOTE_RETRY_AFTER_SEC = 2;
/**
 * Quotes one matching instance answers per second at most. A quote is about a millisecond of the
 * event loop the match rounds run on (QUOTE_LIMITS bound it): at this rate quotes take at most a
 * fifth of it, and a flood of them cannot stop matching. Past it: QUOTE_UNAVAILABLE, retry in 1 s.
 */
export const QUOTES_PER_SEC_MAX = 200;
const QUOTE_WINDOW_MS = 1_000;
/** The id the quoted job carries inside the engine's dry run (it is never queued, and no answer shows it). */
const QUOTE_JOB_ID = 'quote';
const NO_ADDRESS = `0x${'0'.repeat(40)}`;

/**
 * `cmd.matching.quote`: what the engine would decide for a job now, answered from the engine's
 * state in memory by its own routing and pricing (libs/matching quote.ts), with nothing appended,
 * reserved or held. The spec keeps the rules a submission keeps (the same refusals); the time is
 * the one a match round would use now. The quote is synchronous and bounded, so it runs between
 * two pieces of the engine's work without queueing behind a round's appends; until the engine has
 * caught up with the log at start, and past QUOTES_PER_SEC_MAX, it answers QUOTE_UNAVAILABLE (503,
 * Retry-After).
 */
@Controller()
export class QuoteHandler {
  /** the current one-second window and the quotes answered in it */
  private windowStartMs = 0;
  private quotesInWindow = 0;

  constructor(private readonly state: EngineState) {}

  @CommandHandler(QUOTE)
  quote(@Payload() p: PayloadOf<typeof QUOTE>): ReplyOf<typeof QUOTE> {
    validateJobSpec(p.spec);
    if (!this.state.caughtUp)
      throw new DomainError('QUOTE_UNAVAILABLE', 'the matching engine is rebuilding its state from the log; nothing was quoted', { retryAfterSec: QUOTE_RETRY_AFTER_SEC });
    const nowMs = Date.now();
    if (nowMs - this.windowStartMs >= QUOTE_WINDOW_MS) {
      this.windowStartMs = nowMs;
      this.quotesInWindow = 0;
    }
    if (this.quotesInWindow >= QUOTES_PER_SEC_MAX)
      throw new DomainError('QUOTE_UNAVAILABLE', `the matching engine answers at most ${QUOTES_PER_SEC_MAX} quotes a second; nothing was quoted`, { retryAfterSec: 1 });
    this.quotesInWindow++;
    const atMs = Math.max(nowMs, this.state.lastEventMs);
    // the job as the engine would take it from JobSubmitted, submitted now
    const job = jobSpecOf({ ...p.spec, jobId: QUOTE_JOB_ID, orgId: QUOTE_JOB_ID, requesterAddress: NO_ADDRESS }, new Date(atMs).toISOString());
    return quoteAnswerOf(quoteJob(this.state.engine, job, atMs, { nextRoundSec: Math.ceil(ROUND_INTERVAL_MS / 1000) }));
  }
}

/** The engine's price of a job as the API names it: per GPU-hour, for gpuCount GPUs. */
export function priceTermsOf(q: Quote, gpuCount: number): PriceTerms {
  return {
    gpuModel: q.gpuClass,
    region: q.region,
    tier: q.tier,
    basePriceWeiPerGpuHour: q.basePriceWeiPerGpuHour.toString(),
    tierMultiplierBps: q.tierMultiplierBps,
    utilizationMultiplierBps: q.utilizationMultiplierBps,
    // the engine prices one GPU-hour and multiplies by the count: this division is exact
    priceWeiPerGpuHour: (q.priceWeiPerHour / BigInt(gpuCount)).toString(),
    gpuCount,
    runtimeSec: q.runtimeSec,
    costWei: q.costWei.toString(),
  };
}

export function quoteAnswerOf(q: JobQuote): QuoteAnswer {
  return {
    feasible: q.feasible,
    price: q.match ? priceTermsOf(q.match.quote, q.match.gpuCount) : null,
    nodeId: q.match?.nodeId ?? null,
    markets: q.markets.map((m) => ({
      price: priceTermsOf(m.quote, m.gpuCount),
      nodesEligible: m.nodesEligible,
      nodesFree: m.nodesFree,
      freeGpus: m.freeGpus,
      utilizationBps: m.utilizationBps,
      countsComplete: m.countsComplete,
    })),
    marketsTotal: q.marketsTotal,
    expectedWaitSec: q.expectedWaitSec,
    waitBasis: q.waitBasis,
    queuedAhead: q.queuedAhead,
    reasons: q.reasons,
    nearest: q.nearest.map((n) => ({ change: n.change, value: n.value, price: priceTermsOf(n.match.quote, n.match.gpuCount), nodeId: n.match.nodeId })),
    quotedAt: new Date(q.atMs).toISOString(),
    engineVersion: q.engineVersion,
  };
}
