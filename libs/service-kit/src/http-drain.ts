import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';

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

@Injectable()
export class HttpDrain implements OnModuleDestroy {
  private draining = false;
  private readonly inFlight = new Set<ServerResponse>();
  private server?: Server;

  /**
   * The server whose keep-alive connections a stop closes as each goes idle. `server.close()`
   * closes only those idle at the moment it is called; one that goes idle later (an answer that
   * ends, however it began) would otherwise hold the close until the keep-alive timeout (65 s).
   */
  track(server: Server): void {
    this.server = server;
  }

  /** Express middleware: marks answers of a stopping service, and keeps the ones in flight to mark them when it starts to stop. */
  middleware(): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
    return (_req, res, next) => {
      if (this.draining) res.setHeader('connection', 'close');
      else {
        this.inFlight.add(res);
        res.once('close', () => this.inFlight.delete(res));
      }
      next();
    };
  }

  get isDraining(): boolean {
    return this.draining;
  }

  onModuleDestroy(): void {
    this.draining = true;
    for (const res of this.inFlight) {
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
    this.inFlight.clear();
    this.closeIdleUntilClosed();
  }

  /** Every HTTP_DRAIN_IDLE_CHECK_MS until the server has closed: its connections that went idle since. */
  private closeIdleUntilClosed(): void {
    const server = this.server;
    if (!server || !server.listening) return;
    const timer = setInterval(() => server.closeIdleConnections(), HTTP_DRAIN_IDLE_CHECK_MS);
    timer.unref();
    server.once('close', () => clearInterval(timer));
  }
}
