import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Histogram, type Registry } from 'prom-client';
import { Observable } from 'rxjs';
import type { ChainTxObservation } from '@starminer/chain';
import type { AppendObservation } from '@starminer/trade-log';

/**
 * The series every service exports besides its readers' (runtime.ts), named once here. Labels
 * take bounded values only: a route template, a command subject, an event type, an error code, a
 * chain action; never an id of a job, a node or an org.
 */
export const METRIC = {
  httpDuration: 'starminer_http_request_duration_seconds',
  commandDuration: 'starminer_command_duration_seconds',
  appendedEvents: 'starminer_log_appended_events_total',
  appendDuration: 'starminer_log_append_duration_seconds',
  chainTxDuration: 'starminer_chain_tx_duration_seconds',
  chainTxGas: 'starminer_chain_tx_gas_used',
  chainTxFailures: 'starminer_chain_tx_failures_total',
  chainUp: 'starminer_chain_up',
} as const;

/** Latency buckets (seconds) of the edge: HTTP and commands answer in milliseconds, a slow one in seconds. */
export const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15] as const;
/** A transaction is final within a block or two on anvil and L2s; up to the receipt timeout (60 s) elsewhere. */
export const CHAIN_TX_BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60] as const;
/** Gas: a plain transfer is 21k; our contract calls 50k-500k; a batch of opens a few million. */
export const GAS_BUCKETS = [25_000, 50_000, 100_000, 200_000, 400_000, 800_000, 1_600_000, 3_200_000, 6_400_000, 12_800_000] as const;

/** What a request to no route is labelled: the raw URL would give a series per probe of a scanner. */
export const UNMATCHED_ROUTE = 'unmatched';

/** The chain actions of the market, by the libs/chain action that sends them. */
const CHAIN_ACTION_OF: readonly [prefix: string, action: string][] = [
  ['openComputeContract', 'open'],
  ['releaseComputeContract', 'release'],
  ['refundComputeContract', 'refund'],
  ['disputeComputeContract', 'dispute'],
  ['slash', 'slash'],
  ['mintAgpu', 'mint'],
  ['postAnchor', 'anchor'],
];

/** A libs/chain action name (which may carry a job id after a space) as one of a few label values. */
export function chainActionLabel(action: string): string {
  const name = action.split(' ')[0];
  return CHAIN_ACTION_OF.find(([prefix]) => name.startsWith(prefix))?.[1] ?? 'other';
}

/** The aggregate kind of a log subject (`trade.job.<id>` is `job`): bounded, where the subject is not. */
export function subjectFamily(subject: string): string {
  return subject.split('.')[1] ?? 'unknown';
}

/** A thrown error as an outcome label: its catalogue code where it has one, else its class. */
export function outcomeOf(err: unknown): string {
  if (err && typeof err === 'object') {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Za-z_]{1,64}$/.test(code)) return code;
    const name = (err as { name?: unknown }).name;
    if (typeof name === 'string' && /^[A-Za-z_]{1,64}$/.test(name)) return name;
  }
  return 'error';
}

/** The edge's metrics of one service, on its runtime's registry. */
export class ServiceMetrics {
  readonly http: Histogram<'method' | 'route' | 'status'>;
  readonly commands: Histogram<'command' | 'outcome'>;
  readonly appendedEvents: Counter<'family' | 'type' | 'outcome'>;
  readonly appendSeconds: Histogram<'family' | 'outcome'>;
  readonly chainTxSeconds: Histogram<'action' | 'outcome'>;
  readonly chainTxGas: Histogram<'action'>;
  readonly chainTxFailures: Counter<'action' | 'reason'>;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.http = new Histogram({ name: METRIC.httpDuration, help: 'HTTP requests served, by method, route template and status code', labelNames: ['method', 'route', 'status'], buckets: [...LATENCY_BUCKETS_S], registers });
    this.commands = new Histogram({ name: METRIC.commandDuration, help: 'Commands handled (NATS request/reply), by subject and outcome (ok or the error code)', labelNames: ['command', 'outcome'], buckets: [...LATENCY_BUCKETS_S], registers });
    this.appendedEvents = new Counter({ name: METRIC.appendedEvents, help: 'Events appended to the trade log, by aggregate family, event type and outcome (stored, duplicate, or the error)', labelNames: ['family', 'type', 'outcome'], registers });
    this.appendSeconds = new Histogram({ name: METRIC.appendDuration, help: 'Appends to the trade log (one decision, all its events), by aggregate family and outcome', labelNames: ['family', 'outcome'], buckets: [...LATENCY_BUCKETS_S], registers });
    this.chainTxSeconds = new Histogram({ name: METRIC.chainTxDuration, help: 'Chain transactions from sent to final (mined and confirmed), by action and outcome', labelNames: ['action', 'outcome'], buckets: [...CHAIN_TX_BUCKETS_S], registers });
    this.chainTxGas = new Histogram({ name: METRIC.chainTxGas, help: 'Gas used by mined chain transactions, by action', labelNames: ['action'], buckets: [...GAS_BUCKETS], registers });
    this.chainTxFailures = new Counter({ name: METRIC.chainTxFailures, help: 'Chain transactions that failed, by action and reason: not sent (revert|insufficient_funds|nonce|rpc|other, before a hash existed), or reverted or not final in time once sent', labelNames: ['action', 'reason'], registers });
  }

  /** For TradeLog.observeAppends. */
  readonly onAppend = (o: AppendObservation): void => {
    const family = subjectFamily(o.subject);
    this.appendSeconds.observe({ family, outcome: o.error === undefined ? 'ok' : outcomeOf(o.error) }, o.seconds);
    for (const [i, type] of o.types.entries()) {
      const r = o.results[i];
      const outcome = r ? (r.duplicate ? 'duplicate' : 'stored') : o.error === undefined ? 'stored' : outcomeOf(o.error);
      this.appendedEvents.inc({ family, type, outcome });
    }
  };

  /** For libs/chain observeChainTxs. */
  readonly onChainTx = (o: ChainTxObservation): void => {
    const action = chainActionLabel(o.action);
    // not sent (no hash): counted by its bounded reason; nothing was waited for, so no duration
    if (o.sendFailure !== undefined) {
      this.chainTxFailures.inc({ action, reason: o.sendFailure });
      return;
    }
    const outcome = o.error === undefined ? 'ok' : outcomeOf(o.error);
    this.chainTxSeconds.observe({ action, outcome }, o.seconds);
    if (o.gasUsed !== undefined) this.chainTxGas.observe({ action }, Number(o.gasUsed));
    if (o.error !== undefined) this.chainTxFailures.inc({ action, reason: outcome });
  };

  /**
   * Express middleware, first of the app: times every request to its end, labelled with the
   * route template the router matched (`/v1/jobs/:jobId`), so refusals by the body parser and
   * 404s are counted too, without a series per URL.
   */
  httpMiddleware(): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
    return (req, res, next) => {
      const started = process.hrtime.bigint();
      res.once('finish', () => {
        const r = req as IncomingMessage & { route?: { path?: unknown }; baseUrl?: string };
        const path = typeof r.route?.path === 'string' ? `${r.baseUrl ?? ''}${r.route.path}` : UNMATCHED_ROUTE;
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        this.http.observe({ method: req.method ?? 'GET', route: path, status: String(res.statusCode) }, seconds);
      });
      next();
    };
  }
}

/**
 * Times every command handler (the `rpc` context: NATS request/reply), parsing of its payload
 * included, by its subject and outcome. HTTP is timed by the middleware, which also sees what
 * never reaches a handler.
 */
@Injectable()
export class CommandMetricsInterceptor implements NestInterceptor {
  constructor(private readonly metrics: ServiceMetrics) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'rpc') return next.handle();
    const rpc = context.switchToRpc().getContext<{ getSubject?: () => string }>();
    const command = typeof rpc?.getSubject === 'function' ? rpc.getSubject() : 'unknown';
    const end = this.metrics.commands.startTimer({ command });
    return new Observable((subscriber) =>
      next.handle().subscribe({
        next: (v) => subscriber.next(v),
        error: (err: unknown) => {
          end({ outcome: outcomeOf(err) });
          subscriber.error(err);
        },
        complete: () => {
          end({ outcome: 'ok' });
          subscriber.complete();
        },
      }),
    );
  }
}
