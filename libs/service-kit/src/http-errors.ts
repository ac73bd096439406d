import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { DomainError } from '@starminer/domain';
import type { ErrorKind } from '@starminer/events';
import { CommandTransportError } from './commands';

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

/** The HTTP answer to a refusal: its status and the `{ error: { code, message, details } }` body. */
export function domainErrorResponse(err: DomainError): { status: number; body: { error: { code: string; message: string; details?: unknown } } } {
  return { status: STATUS_OF_KIND[err.kind], body: { error: { code: err.code, message: err.message, details: err.details } } };
}

/** Every error leaves the gateway as `{ error: { code, message, details } }` with a fitting status. */
@Catch()
export class ErrorEnvelopeFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');
  catch(err: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse();
    let status = 500;
    let body: { code: string; message: string; details?: unknown } = { code: 'INTERNAL', message: 'internal error' };
    if (err instanceof DomainError) {
      const answer = domainErrorResponse(err);
      status = answer.status;
      body = answer.body.error;
    } else if (err instanceof CommandTransportError) {
      status = 503;
      body = { code: err.code, message: err.message };
    } else if (err instanceof HttpException) {
      status = err.getStatus();
      const r = err.getResponse() as { message?: unknown; code?: string; error?: string } | string;
      if (typeof r === 'string') body = { code: codeOfStatus(status), message: r };
      else
        body = {
          code: r.code ?? codeOfStatus(status),
          message: Array.isArray(r.message) ? r.message.join('; ') : String(r.message ?? r.error ?? 'error'),
          details: Array.isArray(r.message) ? { violations: r.message } : undefined,
        };
    } else {
      this.logger.error((err as Error)?.stack ?? String(err));
    }
    res.status(status).json({ error: body });
  }
}

function codeOfStatus(status: number): string {
  switch (status) {
    case 400:
      return 'VALIDATION_FAILED';
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 429:
      return 'RATE_LIMITED';
    default:
      return status >= 500 ? 'INTERNAL' : 'BAD_REQUEST';
  }
}
