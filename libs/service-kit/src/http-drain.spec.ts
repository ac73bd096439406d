import { Agent, createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { HttpDrain } from './http-drain';

/** A GET on a keep-alive agent: the answer's Connection header. */
function get(port: number, agent: Agent): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.headers.connection));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HttpDrain', () => {
  let server: Server;
  let port: number;
  const drain = new HttpDrain();
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let holdMs = 0;

  beforeAll(async () => {
    const mw = drain.middleware();
    server = createServer((req, res) => mw(req, res, () => void setTimeout(() => res.end('ok'), holdMs)));
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => {
    agent.destroy();
    server.closeAllConnections();
  });

  it('given a running service, answers keep their connection alive', async () => {
    expect(await get(port, agent)).toBe('keep-alive');
  });

  it('given the service starts to stop while an answer is in flight, that answer and every later one close their connection, and the server closes though its client asks again at once', async () => {
    holdMs = 200;
    const inFlight = get(port, agent);
    await new Promise((r) => setTimeout(r, 50));
    drain.onModuleDestroy();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await inFlight).toBe('close');
    expect(drain.isDraining).toBe(true);
    // the client's next request finds no connection to reuse, and the closed server takes no new one
    await expect(get(port, agent)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await closed;
  });

  it('given an answer whose headers went out keep-alive (an event stream) when the service starts to stop, its socket closes once it ends, and the server closes without waiting for the keep-alive timeout', async () => {
    const d = new HttpDrain();
    const mw = d.middleware();
    let endStream: () => void = () => undefined;
    const streaming = createServer((req, res) =>
      mw(req, res, () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: hello\n\n');
        endStream = () => res.end();
      }),
    );
    streaming.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => streaming.listen(0, '127.0.0.1', resolve));
    const streamAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const answered = new Promise<string | undefined>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: (streaming.address() as AddressInfo).port, path: '/', agent: streamAgent }, (res) => {
        res.once('data', () => resolve(res.headers.connection));
        res.resume();
      });
      req.on('error', reject);
      req.end();
    });
    expect(await answered).toBe('keep-alive');
    const startedMs = Date.now();
    d.onModuleDestroy();
    const closed = new Promise<void>((resolve) => streaming.close(() => resolve()));
    endStream(); // the stream ends after the server began to close: its socket was not idle then
    await closed;
    expect(Date.now() - startedMs).toBeLessThan(5_000);
    streamAgent.destroy();
  });

  it('given a tracked server, a connection that goes idle after its close began (an answer the middleware never saw) is closed too, not held for the keep-alive timeout', async () => {
    const d = new HttpDrain();
    let finish: () => void = () => undefined;
    // a handler outside the middleware: its answer goes out keep-alive whatever the drain says
    const plain = createServer((_req, res) => {
      finish = () => res.end('ok');
    });
    plain.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    d.track(plain);
    const plainAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const answered = get((plain.address() as AddressInfo).port, plainAgent);
    await new Promise((r) => setTimeout(r, 50));
    const startedMs = Date.now();
    d.onModuleDestroy();
    const closed = new Promise<void>((resolve) => plain.close(() => resolve()));
    finish();
    expect(await answered).toBe('keep-alive');
    await closed;
    expect(Date.now() - startedMs).toBeLessThan(5_000);
    plainAgent.destroy();
  });

  it('given an answer that never ends, closes the connection under it once the grace period has passed, and names it in a warning', async () => {
    const d = new HttpDrain();
    d.graceMs = 300;
    const warnings: string[] = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => void warnings.push(String(message)));
    const mw = d.middleware();
    const hung = createServer((req, res) => mw(req, res, () => undefined)); // never answers
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    d.track(hung);
    const hungAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const asked = get((hung.address() as AddressInfo).port, hungAgent).catch((err: NodeJS.ErrnoException) => err.code);
    await new Promise((r) => setTimeout(r, 50));
    const startedMs = Date.now();
    d.onModuleDestroy();
    await new Promise<void>((resolve) => hung.close(() => resolve()));
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(290);
    expect(Date.now() - startedMs).toBeLessThan(5_000);
    expect(await asked).toBe('ECONNRESET');
    expect(warnings).toEqual([expect.stringMatching(/^stopping: the server has not closed \d+ ms after its stop began; closing its connections, cutting 1 answer\(s\) in flight: GET \/ \(open \d+ ms\)$/)]);
    hungAgent.destroy();
    jest.restoreAllMocks();
  });

  it('given a connection whose request never finished arriving, closes it after the grace period and describes it: no answer is in flight', async () => {
    const d = new HttpDrain();
    d.graceMs = 300;
    const warnings: string[] = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => void warnings.push(String(message)));
    const mw = d.middleware();
    const server = createServer((req, res) => mw(req, res, () => res.end('ok')));
    server.headersTimeout = 60_000;
    server.requestTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    d.track(server);
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n'); // the blank line that ends the headers never comes
    await new Promise((r) => setTimeout(r, 50));
    const startedMs = Date.now();
    d.onModuleDestroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(290);
    expect(Date.now() - startedMs).toBeLessThan(5_000);
    expect(warnings).toEqual([
      expect.stringMatching(/\(no answer in flight; its 1 connection\(s\): :\d+ read \d+ B, wrote 0 B, no answer \(a request not yet whole, or between requests\)\)$/),
    ]);
    socket.destroy();
    jest.restoreAllMocks();
  });

  it('given a connection that has sent nothing yet (Node counts it busy), closes it at the first idle check, not after the grace period', async () => {
    const d = new HttpDrain();
    d.graceMs = 5_000;
    const mw = d.middleware();
    const server = createServer((req, res) => mw(req, res, () => res.end('ok')));
    server.headersTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    d.track(server);
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const closedByServer = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    await new Promise((r) => setTimeout(r, 50));
    const startedMs = Date.now();
    d.onModuleDestroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await closedByServer;
    expect(Date.now() - startedMs).toBeLessThan(2_000);
  });
});
