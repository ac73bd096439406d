import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';

/**
 * Keep-alive connections let go when the service stops. Node's `server.close()` closes the
 * connections idle at that moment and waits for the others, which a client that sends its next
 * request on the same socket as soon as an answer arrives (a provider agent's back-to-back long
 * polls) keeps busy for ever. Once the application begins to stop, every answer, those in flight
 * included, carries `Connection: close`, so each such client's socket closes after its answer and
 * the server's close completes.
 */
/** How often a stopping server closes the keep-alive connections that went idle since its close began. */
export const HTTP_DRAIN_IDLE_CHECK_MS = 100;
/**
 * How long a stopping server waits for its answers in flight before it closes every connection it
 * still has, naming the requests it cut: a stop is bounded (an orchestrator's grace period is 30 s),
 * and one that would hang says on what.
 */
export const HTTP_DRAIN_GRACE_MS = 10_000;

@Injectable()
export class HttpDrain implements OnModuleDestroy {
  private readonly logger = new Logger('http-drain');
  private draining = false;
  /** Every answer in flight, with its request line and when it came: what a stop marks, and what a forced close names. */
  private readonly open = new Map<ServerResponse, { line: string; atMs: number }>();
  private server?: Server;
  /** Every connection the tracked server has open: what a forced close describes when no answer is in flight. */
  private readonly sockets = new Set<Socket>();

  /** How long answers in flight have before the connections are closed under them (a spec shortens it). */
  graceMs = HTTP_DRAIN_GRACE_MS;

  /**
   * The server whose keep-alive connections a stop closes as each goes idle. `server.close()`
   * closes only those idle at the moment it is called; one that goes idle later (an answer that
   * ends, however it began) would otherwise hold the close until the keep-alive timeout (65 s).
   */
  track(server: Server): void {
    this.server = server;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** Express middleware: marks answers of a stopping service, and keeps the ones in flight to mark them when it starts to stop. */
  middleware(): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
    return (req, res, next) => {
      this.open.set(res, { line: `${req.method ?? '?'} ${(req.url ?? '').split('?')[0]}`, atMs: Date.now() });
      res.once('close', () => this.open.delete(res));
      if (this.draining) res.setHeader('connection', 'close');
      next();
    };
  }

  get isDraining(): boolean {
    return this.draining;
  }

  onModuleDestroy(): void {
    if (this.draining) return;
    this.draining = true;
    for (const res of this.open.keys()) {
      if (!res.headersSent) {
        res.setHeader('connection', 'close');
        continue;
      }
      // Its headers went out keep-alive (an event stream, an answer being written): once it ends,
      // its socket would sit idle until the keep-alive timeout (65 s), after server.close() closed
      // the connections idle at that moment, holding the close up. End it as soon as the answer is done.
      const socket = res.socket;
      if (socket) res.once('close', () => socket.end());
    }
    this.closeIdleUntilClosed();
  }

  /**
   * Every HTTP_DRAIN_IDLE_CHECK_MS until the server has closed: its connections that went idle
   * since; after the grace period, all of them, with a warning that names the answers cut.
   */
  private closeIdleUntilClosed(): void {
    const server = this.server;
    if (!server || !server.listening) return;
    const timer = setInterval(() => {
      server.closeIdleConnections();
      // Node counts a connection that has sent nothing yet as busy, not idle: the CI logs showed a
      // stop held its whole grace by such connections (read 0 B, wrote 0 B). One that has asked
      // nothing is owed nothing: close it too (its client, if it was about to ask, retries elsewhere).
      for (const socket of this.sockets) if (socket.bytesRead === 0 && !answerOf(socket)) socket.destroy();
    }, HTTP_DRAIN_IDLE_CHECK_MS);
    timer.unref();
    const startedMs = Date.now();
    const force = setTimeout(() => {
      const now = Date.now();
      const cut = [...this.open.values()].map((o) => `${o.line} (open ${now - o.atMs} ms)`);
      const held = cut.length ? '' : `; its ${this.sockets.size} connection(s): ${[...this.sockets].slice(0, 10).map(describeSocket).join(', ')}`;
      this.logger.warn(`stopping: the server has not closed ${now - startedMs} ms after its stop began; closing its connections${cut.length ? `, cutting ${cut.length} answer(s) in flight: ${cut.slice(0, 10).join(', ')}` : ` (no answer in flight${held})`}`);
      server.closeAllConnections();
    }, this.graceMs);
    force.unref();
    server.once('close', () => {
      clearInterval(timer);
      clearTimeout(force);
    });
  }
}

/**
 * What a connection that holds a server's close is doing: its client's port, the bytes it has read
 * and written, and the answer Node has it writing (Node keeps that on the socket as `_httpMessage`;
 * a request whose headers have not all come has none, and neither has one between requests).
 */
export function describeSocket(socket: Socket): string {
  const res = answerOf(socket);
  const req = res?.req;
  const doing = req ? `answering ${req.method ?? '?'} ${(req.url ?? '').split('?')[0]}${res.headersSent ? ' (headers sent)' : ''}` : 'no answer (a request not yet whole, or between requests)';
  return `:${socket.remotePort ?? '?'} read ${socket.bytesRead} B, wrote ${socket.bytesWritten} B, ${doing}`;
}

/** The answer Node has a connection writing, if any (kept on the socket as `_httpMessage`). */
const answerOf = (socket: Socket): ServerResponse | undefined => (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage ?? undefined;
