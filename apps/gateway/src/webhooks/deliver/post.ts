import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';

/**
 * One webhook POST with node:http(s), which (unlike fetch) takes the `lookup` the connection
 * resolves the name with, so the target check and the connection see the same addresses
 * (target.ts). Redirects are not followed (the status is the answer); the answer's body is not
 * read; the whole attempt, name resolution included, is bounded by `timeoutMs`.
 */
export function postWebhook(url: string, headers: Record<string, string>, body: string, opts: { timeoutMs: number; lookup?: LookupFunction }): Promise<number> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<number>((resolve, reject) => {
    const req = send(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        signal: AbortSignal.timeout(opts.timeoutMs),
        ...(opts.lookup ? { lookup: opts.lookup } : {}),
      },
      (res: IncomingMessage) => {
        res.resume(); // drain: only the status counts, and the socket is freed
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
