import { Injectable } from '@nestjs/common';
import { DomainError } from '@starminer/domain';
import { IDEMPOTENCY_KEY_PATTERN, LIMITS, toJson } from '@starminer/events';
import { errorResponse, InjectConfig, ServiceRuntime } from '@starminer/service-kit';
import { sha256Hex } from '../auth/guards';
import type { GatewayConfig } from '../gateway.config';

export interface Answer {
  readonly statusCode: number;
  readonly body: unknown;
}

/** What the work is told of its attempt: a takeover re-runs the work of an attempt that never answered. */
export interface Attempt {
  readonly takeover: boolean;
}

/** An attempt's claim on its record: `claimedAt` (as the database wrote it) tells its own claim from a later takeover's. */
interface Claim extends Attempt {
  readonly claimedAt: string;
}

/**
 * How many times a request reads and claims its record: the record can change under it once (a
 * retry took an expired claim first, the first attempt answered meanwhile), after which it answers
 * what it finds.
 */
const CLAIM_PASSES_MAX = 3;

/** An `Idempotency-Key` header as the catalogue allows it (1-128 printable ASCII), or IDEMPOTENCY_KEY_INVALID. */
export function idempotencyKeyOf(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (typeof header !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(header)) {
    throw new DomainError('IDEMPOTENCY_KEY_INVALID', `Idempotency-Key must be 1-${LIMITS.idempotencyKeyLengthMax} printable ASCII characters, without spaces`, {
      limit: LIMITS.idempotencyKeyLengthMax,
    });
  }
  return header;
}

/** The hash a record keeps of its request (the parsed body), so that the key with another request is refused. */
export const requestHashOf = (request: unknown): string => sha256Hex(toJson(request));

interface RecordRead {
  requestHash: string;
  statusCode: number | null;
  body: unknown;
  /** Seconds until the claim expires (0 or less: expired), by the database's clock. */
  expiresInSec: number;
}

/**
 * `Idempotency-Key`: the first answer is stored with a hash of the request; the same key with the
 * same request gets that answer again, with another request a 422.
 *
 * The record is claimed before the work runs and answered after it. A refusal (a 4xx) is stored
 * like an answer. A failure that may have done the work anyway (a timeout, a dependency away, our
 * bug) stays unanswered and gives its claim up at once, so the client's retry runs the work again;
 * a gateway that crashed mid-request leaves its claim: a retry meanwhile gets 409
 * IDEMPOTENCY_IN_PROGRESS with Retry-After, and once the claim is older than
 * IDEMPOTENCY_IN_PROGRESS_EXPIRY_SEC one retry takes it over (atomically: of two retries, one).
 * The work is idempotent downstream (the job id is derived from the key, the mint is keyed by it),
 * so a re-run finds what the first attempt did and answers the same.
 */
@Injectable()
export class Idempotency {
  constructor(
    private readonly rt: ServiceRuntime,
    @InjectConfig() private readonly config: GatewayConfig,
  ) {}

  private get table(): string {
    return `"${this.rt.service}"."idempotency"`;
  }

  async run(orgId: string, key: string | undefined, request: unknown, work: (attempt: Attempt) => Promise<Answer>): Promise<Answer> {
    if (key === undefined) return work({ takeover: false });
    const claimed = await this.claim(orgId, key, requestHashOf(request));
    if ('answer' in claimed) return claimed.answer;
    let answer: Answer;
    try {
      answer = await work({ takeover: claimed.takeover });
    } catch (err) {
      const { status, body, described } = errorResponse(err);
      // a timeout, a dependency away or our bug may have done the work: the record stays unanswered,
      // and its claim is given up so that the client's retry runs the (idempotent) work again
      if (described.ours || status >= 500) {
        await this.giveUpClaim(orgId, key, claimed.claimedAt).catch(() => undefined);
        throw err;
      }
      const first = await this.resolve(orgId, key, { statusCode: status, body });
      if (first.ours) throw err;
      return first.answer;
    }
    return (await this.resolve(orgId, key, answer)).answer;
  }

  /** Claims the record for this attempt, or answers from it: the stored answer, 422 for another request, 409 while a live claim holds it. */
  private async claim(orgId: string, key: string, requestHash: string): Promise<Claim | { answer: Answer }> {
    const expirySec = this.config.IDEMPOTENCY_IN_PROGRESS_EXPIRY_SEC;
    for (let pass = 0; pass < CLAIM_PASSES_MAX; pass++) {
      const inserted: { claimedAt: string }[] = await this.rt.db.query(
        `INSERT INTO ${this.table} ("orgId", "key", "requestHash", "createdAt", "claimedAt") VALUES ($1, $2, $3, now(), now())
         ON CONFLICT DO NOTHING RETURNING "claimedAt"::text AS "claimedAt"`,
        [orgId, key, requestHash],
      );
      if (inserted.length > 0) return { takeover: false, claimedAt: inserted[0].claimedAt };
      const first = await this.read(orgId, key, expirySec);
      if (!first) continue; // removed meanwhile (by an older gateway): claim it afresh
      if (first.requestHash !== requestHash) throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for another request');
      if (first.statusCode !== null) return { answer: { statusCode: first.statusCode, body: first.body } };
      if (first.expiresInSec > 0) {
        throw new DomainError('IDEMPOTENCY_IN_PROGRESS', 'the first request with this Idempotency-Key is still being answered; retry after Retry-After seconds', {
          retryAfterSec: Math.max(1, Math.ceil(first.expiresInSec)),
        });
      }
      // the claim expired (its gateway crashed or gave up): one retry takes it over, the others find the new claim
      const taken: { claimedAt: string }[] = await this.rt.db.query(
        `UPDATE ${this.table} SET "claimedAt" = now()
         WHERE "orgId" = $1 AND "key" = $2 AND "requestHash" = $3 AND "statusCode" IS NULL
           AND COALESCE("claimedAt", "createdAt") <= now() - make_interval(secs => $4)
         RETURNING "claimedAt"::text AS "claimedAt"`,
        [orgId, key, requestHash, expirySec],
      );
      if (taken.length > 0) return { takeover: true, claimedAt: taken[0].claimedAt };
    }
    throw new Error(`the idempotency record ${orgId}/${key} changed under ${CLAIM_PASSES_MAX} reads in a row`);
  }

  /** Ends this attempt's claim (only its own: a retry may have taken the record over since), so the next retry takes it at once. */
  private async giveUpClaim(orgId: string, key: string, claimedAt: string): Promise<void> {
    await this.rt.db.query(
      `UPDATE ${this.table} SET "claimedAt" = 'epoch'::timestamptz
       WHERE "orgId" = $1 AND "key" = $2 AND "statusCode" IS NULL AND "claimedAt"::text = $3`,
      [orgId, key, claimedAt],
    );
  }

  private async read(orgId: string, key: string, expirySec: number): Promise<RecordRead | undefined> {
    const rows: RecordRead[] = await this.rt.db.query(
      `SELECT "requestHash", "statusCode", "body",
              EXTRACT(EPOCH FROM (COALESCE("claimedAt", "createdAt") + make_interval(secs => $3) - now()))::float8 AS "expiresInSec"
       FROM ${this.table} WHERE "orgId" = $1 AND "key" = $2`,
      [orgId, key, expirySec],
    );
    return rows[0];
  }

  /**
   * Stores the answer unless an attempt of the same request stored one first (a slow first attempt
   * and the retry that took it over both finish): the first stored is the answer, for both.
   */
  private async resolve(orgId: string, key: string, answer: Answer): Promise<{ answer: Answer; ours: boolean }> {
    const stored: unknown[] = await this.rt.db.query(
      `UPDATE ${this.table} SET "statusCode" = $3, "body" = $4::jsonb WHERE "orgId" = $1 AND "key" = $2 AND "statusCode" IS NULL RETURNING "key"`,
      [orgId, key, answer.statusCode, toJson(answer.body)],
    );
    if (stored.length > 0) return { answer, ours: true };
    const first = await this.read(orgId, key, this.config.IDEMPOTENCY_IN_PROGRESS_EXPIRY_SEC);
    if (!first || first.statusCode === null) return { answer, ours: true };
    return { answer: { statusCode: first.statusCode, body: first.body }, ours: false };
  }
}
