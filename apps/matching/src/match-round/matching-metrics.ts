import { Injectable } from '@nestjs/common';
import { Gauge, Histogram } from 'prom-client';
import type { Match } from '@starminer/matching';
import { ServiceRuntime } from '@starminer/service-kit';
import { EngineState } from '../engine/engine-state';

/** A job waits from milliseconds (supply free) to many minutes (a queue behind a busy market). */
export const MATCH_LATENCY_BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 1800] as const;
/** One engine call over the queues: microseconds when little waits, tens of milliseconds at scale. */
export const DECISION_BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] as const;
const BPS = 10_000;
/** Markets (GPU class x region) with their own starminer_price_multiplier series; the rest share `other`. */
export const PRICE_MULTIPLIER_MARKETS_MAX = 50;
const OTHER_MARKET = 'other';

/**
 * The market as matching sees it, on the service's registry: jobs waiting per category and the
 * price multipliers (read from the engine at each scrape), how long a job waited from queued to
 * matched, and how long the engine took to decide a round.
 */
@Injectable()
export class MatchingMetrics {
  private readonly matchLatency: Histogram<'category'>;
  private readonly decision: Histogram<'step'>;

  constructor(rt: ServiceRuntime, state: EngineState) {
    const registers = [rt.metrics];
    new Gauge({
      name: 'starminer_queue_depth',
      help: 'Jobs queued and not yet matched, per demand category',
      labelNames: ['category'],
      registers,
      collect() {
        for (const [category, depth] of Object.entries(state.engine.queueDepths())) this.set({ category }, depth);
      },
    });
    const labelledMarkets = new Set<string>();
    new Gauge({
      name: 'starminer_price_multiplier',
      help: "A market's utilization (surge) multiplier now, per GPU class and region (1 = base price)",
      labelNames: ['gpu_class', 'region'],
      registers,
      collect() {
        // GPU class and region are providers' words: the first PRICE_MULTIPLIER_MARKETS_MAX markets
        // seen get their own series (kept from then on); the rest are one `other` series, at their highest
        let otherBps: number | undefined;
        for (const m of state.engine.allMarkets()) {
          const key = `${m.gpuClass}\u0000${m.region}`;
          if (!labelledMarkets.has(key) && labelledMarkets.size < PRICE_MULTIPLIER_MARKETS_MAX) labelledMarkets.add(key);
          if (labelledMarkets.has(key)) this.set({ gpu_class: m.gpuClass, region: m.region }, m.multiplierBps / BPS);
          else otherBps = Math.max(otherBps ?? 0, m.multiplierBps);
        }
        if (otherBps !== undefined) this.set({ gpu_class: OTHER_MARKET, region: OTHER_MARKET }, otherBps / BPS);
      },
    });
    new Gauge({
      name: 'starminer_markets_in_surge',
      help: 'Markets (GPU class x region) in surge now (SurgeStarted without its SurgeEnded): their staked pools are routed first',
      registers,
      collect() {
        let surging = 0;
        for (const m of state.engine.allMarkets()) if (m.surge) surging++;
        this.set(surging);
      },
    });
    new Gauge({
      name: 'starminer_price_tier_multiplier',
      help: 'The multi-tier pricing multiplier of each tier (configuration)',
      labelNames: ['tier'],
      registers,
      collect() {
        for (const [tier, bps] of Object.entries(state.engineConfig.pricing.tierMultiplierBps)) this.set({ tier }, bps / BPS);
      },
    });
    this.matchLatency = new Histogram({ name: 'starminer_match_latency_seconds', help: 'From a job queued to matched (event time), per category', labelNames: ['category'], buckets: [...MATCH_LATENCY_BUCKETS_S], registers });
    this.decision = new Histogram({ name: 'starminer_engine_decision_seconds', help: "The engine's decisions per round: match (over the queues) and reprice", labelNames: ['step'], buckets: [...DECISION_BUCKETS_S], registers });
  }

  /** Runs one engine step and times it (synchronous: the engine is pure and in memory). */
  timed<T>(step: 'match' | 'reprice', decide: () => T): T {
    const end = this.decision.startTimer({ step });
    try {
      return decide();
    } finally {
      end();
    }
  }

  matched(m: Match): void {
    this.matchLatency.observe({ category: m.category }, Math.max(0, m.matchedAtMs - m.submittedAtMs) / 1000);
  }
}
