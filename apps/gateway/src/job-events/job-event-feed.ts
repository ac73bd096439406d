import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { InjectConfig, ServiceRuntime } from '@starminer/service-kit';
import type { GatewayConfig } from '../gateway.config';
import { GatewayViews } from '../views/gateway-views';
import {
  JOB_EVENTS_DRAIN_TIMEOUT_MS,
  JOB_EVENTS_PAGE_SIZE,
  JOB_EVENTS_POLL_MS,
  JOB_EVENTS_RECONNECT_MS,
  JOB_EVENTS_RETRY_AFTER_SEC,
  JOB_EVENTS_STREAM_AGE_MAX_MS,
  JOB_EVENTS_WAKE_WAIT_MS,
} from './job-events-limits';
import { JobUpdates } from './job-updates.store';
import { pumpJobUpdates, sseComment, sseRetry, type SseSink } from './sse';
import { StreamHub, type StreamSlot } from './stream-hub';

/**
 * The job event streams of this gateway process: opens them (bounded), serves each on its HTTP
 * response (headers, replay then live updates, heartbeats, an age limit), and closes them all
 * when the gateway stops, before the database does.
 */
@Injectable()
export class JobEventFeed implements OnModuleDestroy {
  private readonly logger = new Logger('job-events');
  private readonly hub: StreamHub;
  private readonly heartbeatMs: number;
  private readonly serving = new Set<Promise<void>>();

  constructor(
    views: GatewayViews,
    private readonly updates: JobUpdates,
    @InjectConfig() config: GatewayConfig,
    rt: ServiceRuntime,
  ) {
    this.heartbeatMs = config.JOB_EVENTS_HEARTBEAT_SEC * 1000;
    this.hub = new StreamHub({
      progress: views,
      updatedAmong: (jobIds, from, to) => this.updates.updatedAmong(jobIds, from, to),
      streamsMax: config.JOB_EVENTS_STREAMS_MAX,
      retryAfterSec: JOB_EVENTS_RETRY_AFTER_SEC,
      wakeWaitMs: JOB_EVENTS_WAKE_WAIT_MS,
      onError: (err) => this.logger.warn(`waking job event streams: ${(err as Error)?.message ?? String(err)}`),
    });
    const hub = this.hub;
    new Gauge({
      name: 'starminer_job_event_streams',
      help: 'Job event streams (SSE) this gateway serves now',
      registers: [rt.metrics],
      collect() {
        this.set(hub.size);
      },
    });
  }

  /** A place for one more stream of `jobId`, or TOO_MANY_STREAMS. */
  open(jobId: string): StreamSlot {
    return this.hub.open(jobId);
  }

  /** Serves the stream on `res` until its job ends, the client goes, it ages out, or the gateway stops. */
  serve(req: IncomingMessage, res: ServerResponse, slot: StreamSlot, after: bigint): Promise<void> {
    const serving = this.stream(req, res, slot, after).finally(() => this.serving.delete(serving));
    this.serving.add(serving);
    return serving;
  }

  private async stream(req: IncomingMessage, res: ServerResponse, slot: StreamSlot, after: bigint): Promise<void> {
    if (req.socket.destroyed) {
      // the client left while the stream was being opened: its 'close' has fired already
      slot.close();
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // one stream per connection: closed after it, so a stopping gateway is not held by idle sockets
      connection: 'close',
      // nginx and its kin buffer responses by default; a stream must go out as it is written
      'x-accel-buffering': 'no',
    });
    req.socket.setNoDelay(true);
    res.write(sseRetry(JOB_EVENTS_RECONNECT_MS));
    const gone = (): void => slot.close();
    res.on('close', gone);
    const heartbeat = setInterval(() => {
      if (!res.writableEnded && !res.destroyed) res.write(sseComment('heartbeat'));
    }, this.heartbeatMs);
    const aged = setTimeout(() => slot.close(), JOB_EVENTS_STREAM_AGE_MAX_MS);
    try {
      const end = await pumpJobUpdates({
        slot,
        sink: sinkOf(res),
        read: (afterSeq, limit) => this.updates.after(slot.jobId, afterSeq, limit),
        after,
        pageSize: JOB_EVENTS_PAGE_SIZE,
        pollMs: JOB_EVENTS_POLL_MS,
        drainTimeoutMs: JOB_EVENTS_DRAIN_TIMEOUT_MS,
      });
      if (end === 'slow') this.logger.warn(`job ${slot.jobId}: a client read nothing for ${JOB_EVENTS_DRAIN_TIMEOUT_MS} ms; its stream is closed (it resumes from its Last-Event-ID)`);
    } catch (err) {
      // the database away mid-stream: end it; the client reconnects with its Last-Event-ID and misses nothing
      this.logger.warn(`job ${slot.jobId}: stream ended: ${(err as Error)?.message ?? String(err)}`);
    } finally {
      clearInterval(heartbeat);
      clearTimeout(aged);
      res.off('close', gone);
      slot.close();
      if (!res.writableEnded) res.end();
    }
  }

  /** Ends every stream (their clients reconnect, to this gateway once back or to another replica) before the database closes. */
  async onModuleDestroy(): Promise<void> {
    await this.hub.stop();
    await Promise.allSettled([...this.serving]);
  }
}

function sinkOf(res: ServerResponse): SseSink {
  return {
    write: (chunk) => res.write(chunk),
    drained: (timeoutMs) =>
      new Promise((resolve) => {
        const done = (ok: boolean): void => {
          clearTimeout(timer);
          res.off('drain', onDrain);
          res.off('close', onClose);
          resolve(ok);
        };
        const onDrain = (): void => done(true);
        const onClose = (): void => done(false);
        const timer = setTimeout(() => done(false), timeoutMs);
        res.once('drain', onDrain);
        res.once('close', onClose);
      }),
  };
}
