import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import bodyParser from 'body-parser';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { DomainError } from '@starminer/domain';
import { describeViolations, ID_PATTERN, kindOf, LIMITS, violationsOf, type ErrorCode } from '@starminer/events';
import { STATUS_OF_KIND } from './http-errors';

type Req = IncomingMessage & { body?: unknown; rawBody?: Buffer };
type Next = (err?: unknown) => void;

/** A body the JSON parser refused, with the code and status it is answered with. */
class BodyRefused extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * How deep `buf` nests, counting `{` and `[` outside strings, stopping past `max`: JSON nested
 * thousands deep is refused before a parser or a validator recurses into it.
 */
export function jsonDepthExceeds(buf: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (const c of buf) {
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 0x5c) escaped = true;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth -= 1;
  }
  return false;
}

const BODYLESS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

/**
 * The gateway's body parser, strict where clients can go wrong, each refusal a 4xx with its code:
 * a body with another media type than application/json, or a charset other than utf-8, is 415
 * UNSUPPORTED_MEDIA_TYPE; over `limitBytes` 413 PAYLOAD_TOO_LARGE (before it is read whole); not
 * JSON 400 MALFORMED_JSON; nested deeper than LIMITS.jsonDepthMax 400 JSON_TOO_DEEP. The raw bytes
 * are kept on `req.rawBody` (provider requests are signed over them).
 */
export function jsonBody(limitBytes: number = LIMITS.requestBodyBytesMax): (req: Req, res: ServerResponse, next: Next) => void {
  const parse = bodyParser.json({
    limit: limitBytes,
    strict: true,
    type: () => true,
    verify: (req, _res, buf) => {
      (req as Req).rawBody = buf;
      if (jsonDepthExceeds(buf, LIMITS.jsonDepthMax)) throw new BodyRefused('JSON_TOO_DEEP', `the body nests deeper than ${LIMITS.jsonDepthMax} levels`);
    },
  });
  return (req, res, next) => {
    const length = req.headers['content-length'];
    const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    if (BODYLESS.has(req.method ?? 'GET') || !hasBody) {
      req.rawBody = Buffer.alloc(0);
      return next();
    }
    const refused = mediaTypeRefusal(req.headers['content-type']);
    if (refused) return answer(res, 'UNSUPPORTED_MEDIA_TYPE', refused);
    parse(req, res, (err?: unknown) => {
      if (!err) return next();
      if (err instanceof BodyRefused) return answer(res, err.code, err.message);
      const e = err as { type?: string; status?: number; message?: string };
      switch (e.type) {
        case 'entity.too.large':
          return answer(res, 'PAYLOAD_TOO_LARGE', `the body is over ${limitBytes} bytes`);
        case 'encoding.unsupported':
        case 'charset.unsupported':
          return answer(res, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as utf-8 JSON, without a content encoding');
        case 'entity.parse.failed':
          return answer(res, 'MALFORMED_JSON', 'the body is not a JSON object or array');
        default:
          return answer(res, 'MALFORMED_JSON', `the body could not be read: ${e.message ?? 'unknown'}`);
      }
    });
  };
}

function mediaTypeRefusal(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return 'send Content-Type: application/json';
  const [media, ...params] = contentType.split(';').map((p) => p.trim().toLowerCase());
  if (media !== 'application/json') return `the body must be application/json, not ${media.slice(0, 100)}`;
  for (const p of params) {
    const [k, v] = p.split('=').map((x) => x.trim().replace(/^"|"$/g, ''));
    if (k === 'charset' && v !== 'utf-8' && v !== 'utf8') return `the body must be utf-8, not ${v.slice(0, 40)}`;
  }
  return undefined;
}

function answer(res: ServerResponse, code: ErrorCode, message: string): void {
  res.statusCode = STATUS_OF_KIND[kindOf(code)];
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('connection', 'close'); // the rest of a refused body is not read
  res.end(JSON.stringify({ error: { code, message } }));
}

/**
 * Parses a request's body or query string with its catalogue schema: the gateway refuses exactly
 * what the commands and the log would refuse, each violation named with its field and limit.
 */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(private readonly schema: S) {}
  transform(value: unknown, metadata: ArgumentMetadata): z.output<S> {
    const parsed = this.schema.safeParse(value ?? (metadata.type === 'query' ? {} : undefined));
    if (parsed.success) return parsed.data;
    const prefix = metadata.type === 'query' ? ['query'] : [];
    const violations = violationsOf(parsed.error, prefix);
    throw new DomainError('VALIDATION_FAILED', describeViolations(violations), { violations });
  }
}

/** An id in the path: one subject token (1-128 of A-Z a-z 0-9 _ -), else 400 BAD_ID naming the parameter. */
@Injectable()
export class IdPipe implements PipeTransform<string, string> {
  transform(value: string, metadata: ArgumentMetadata): string {
    if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
      throw new DomainError('BAD_ID', `${metadata.data ?? 'id'} must be 1-${LIMITS.idLengthMax} of A-Z a-z 0-9 _ -`, { field: metadata.data ?? 'id' });
    }
    return value;
  }
}
