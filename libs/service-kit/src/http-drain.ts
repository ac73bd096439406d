import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';

/**
 * Keep-alive connections let go when the service stops. Node's `server.close()` closes the
 * connections idle at that moment and waits for the others, which a client that sends its next
 * request on the same socket as soon as an answer arrives (a provider agent's back-to-back long
 * polls) keeps busy for ever. Once the application begins to stop, every answer, those in flight
 * included, carries `Connection: close`, so each such client's socket closes after its answer and
 * the server's close completes.
 */
@Injectable()
export class HttpDrain implements OnModuleDestroy {
  private draining = false;
  private readonly inFlight = new Set<ServerResponse>();

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
  }
}
