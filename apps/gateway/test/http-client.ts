import { Agent, request } from 'node:http';

/** One request as the wire carries it: any method, any path bytes, any header values (latin1), any body. */
export interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Buffer;
}

export interface RawResponse {
  readonly status: number;
  readonly text: string;
  readonly json: unknown;
}

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

/**
 * Sends a request with node:http, which (unlike fetch) lets a test send what a hostile client
 * could: bytes above 0x7f in headers, malformed percent-escapes in the path, any content type.
 */
export function sendRaw(baseUrl: string, req: RawRequest, timeoutMs = 30_000): Promise<RawResponse> {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const r = request({ host: u.hostname, port: u.port, method: req.method, path: req.path, headers: req.headers, agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, text, json });
      });
      res.on('error', reject);
    });
    r.on('timeout', () => r.destroy(new Error(`${req.method} ${req.path} timed out after ${timeoutMs} ms`)));
    r.on('error', (err: NodeJS.ErrnoException) => {
      // the server may close after refusing a body it did not read: that refusal is the answer
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') return reject(Object.assign(err, { refusedBody: true }));
      reject(err);
    });
    if (req.body !== undefined) r.write(req.body);
    r.end();
  });
}

export function closeAgent(): void {
  agent.destroy();
}
