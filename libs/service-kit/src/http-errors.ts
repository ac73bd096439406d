import { Catch, HttpException, Logger, NotFoundException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { throwError, type Observable } from 'rxjs';
import type { ErrorBody, ErrorCode, ErrorKind } from '@starminer/events';
import { describeError, type DescribedError } from './errors';

export const STATUS_OF_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  'insufficient-funds': 402,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'too-large': 413,
  'unsupported-media': 415,
  unprocessable: 422,
  internal: 500,
  unavailable: 503,
};

/**
 * What a 503 tells a client to wait before it retries (a dependency away: a service, the chain,
 * the database), in seconds: long enough for a supervised restart to begin answering, short
 * enough that a client does not give up.
 */
export const RETRY_AFTER_UNAVAILABLE_SEC = 5;

/**
 * The `Retry-After` seconds of an error's answer: what the refusal names itself
 * (`details.retryAfterSec`, e.g. IDEMPOTENCY_IN_PROGRESS), else RETRY_AFTER_UNAVAILABLE_SEC for a
 * 503, else none.
 */
export function retryAfterSecOf(described: DescribedError): number | undefined {
  const named = described.body.details?.retryAfterSec;
  if (typeof named === 'number' && Number.isInteger(named) && named > 0) return named;
  return described.kind === 'unavailable' ? RETRY_AFTER_UNAVAILABLE_SEC : undefined;
}

/** The HTTP answer to an error: its status and the one `{ error: { code, message, details } }` body. */
export function errorResponse(err: unknown): { status: number; body: { error: ErrorBody }; described: DescribedError } {
  const described = err instanceof HttpException ? fromHttpException(err) : describeError(err);
  return { status: STATUS_OF_KIND[described.kind], body: { error: described.body }, described };
}

/**
 * Nest's own HTTP exceptions (a route that does not exist, a method not allowed) keep their 4xx
 * status with our envelope. Our code throws DomainError, never these.
 */
function fromHttpException(err: HttpException): DescribedError {
  const status = err.getStatus();
  if (err instanceof NotFoundException || status === 404) return { kind: 'not-found', body: { code: 'NOT_FOUND', message: 'no such route' }, ours: false };
  const byStatus: Record<number, [ErrorKind, ErrorCode]> = {
    400: ['invalid', 'VALIDATION_FAILED'],
    401: ['unauthenticated', 'API_KEY_REQUIRED'],
    413: ['too-large', 'PAYLOAD_TOO_LARGE'],
    415: ['unsupported-media', 'UNSUPPORTED_MEDIA_TYPE'],
  };
  const known = byStatus[status];
  if (known) return { kind: known[0], body: { code: known[1], message: err.message }, ours: false };
  if (status === 403) return { kind: 'forbidden', body: { code: 'FORBIDDEN', message: err.message }, ours: false };
  // any other client error Nest raises (a method it does not allow, a header it cannot read): a 400
  if (status >= 400 && status < 500) return { kind: 'invalid', body: { code: 'BAD_REQUEST', message: err.message }, ours: false };
  return { kind: 'internal', body: { code: 'INTERNAL', message: 'internal error' }, ours: true };
}

/**
 * Every error leaves every edge in one shape. Over HTTP: `{ error: { code, message, details } }`
 * with the status of its kind (every client error a 4xx; a 5xx is our bug or a dependency away),
 * and a `Retry-After` header on a 503 and on a refusal that names when to retry.
 * As a command reply: `{ code, kind, message, details }`, which CommandBus turns back into the
 * same error. Our own failures are logged here with their stack and answered without internals.
 */
@Catch()
export class EdgeErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('edge');

  catch(err: unknown, host: ArgumentsHost): void | Observable<never> {
    const { status, body, described } = errorResponse(err);
    if (host.getType() === 'rpc') {
      if (described.ours) this.logger.error(`command failed: ${(err as Error)?.stack ?? String(err)}`);
      return throwError(() => ({ ...body.error, kind: described.kind }));
    }
    const http = host.switchToHttp();
    const req = http.getRequest<{ method?: string; originalUrl?: string }>();
    if (described.ours) this.logger.error(`${req.method} ${req.originalUrl}: ${(err as Error)?.stack ?? String(err)}`);
    const res = http.getResponse<{ headersSent?: boolean; setHeader(name: string, value: string): void; status(code: number): { json(body: unknown): void } }>();
    if (res.headersSent) return;
    const retryAfterSec = retryAfterSecOf(described);
    if (retryAfterSec !== undefined) res.setHeader('Retry-After', String(retryAfterSec));
    res.status(status).json(body);
  }
}
