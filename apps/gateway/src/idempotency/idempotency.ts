import { Injectable } from '@nestjs/common';
import { DomainError } from '@starminer/domain';
import { IDEMPOTENCY_KEY_PATTERN, LIMITS, toJson } from '@starminer/events';
import { errorResponse, ServiceRuntime } from '@starminer/service-kit';
import { sha256Hex } from '../auth/guards';
import { IdempotencyRow } from './idempotency.entity';

export interface Answer {
  readonly statusCode: number;
  readonly body: unknown;
}

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

/**
 * `Idempotency-Key`: the first answer is stored with a hash of the request; the same key with the
 * same request gets that answer again, with another request a 422. A refusal is stored like an
 * answer; a failure of ours is not, so the client may retry it.
 */
@Injectable()
export class Idempotency {
  constructor(private readonly rt: ServiceRuntime) {}

  async run(orgId: string, key: string | undefined, request: unknown, work: () => Promise<Answer>): Promise<Answer> {
    if (key === undefined) return work();
    const repo = this.rt.db.getRepository(IdempotencyRow);
    const requestHash = sha256Hex(toJson(request));
    const inserted: unknown[] = await this.rt.db.query(
      `INSERT INTO "${this.rt.service}"."idempotency" ("orgId", "key", "requestHash", "createdAt") VALUES ($1, $2, $3, now())
       ON CONFLICT DO NOTHING RETURNING "key"`,
      [orgId, key, requestHash],
    );
    if (inserted.length === 0) {
      const first = await repo.findOneOrFail({ where: { orgId, key } });
      if (first.requestHash !== requestHash) throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for another request');
      if (first.statusCode === null) throw new DomainError('IDEMPOTENCY_IN_PROGRESS', 'the first request with this Idempotency-Key is still being answered');
      return { statusCode: first.statusCode, body: first.body };
    }
    try {
      const answer = await work();
      await repo.update({ orgId, key }, { statusCode: answer.statusCode, body: answer.body as object });
      return answer;
    } catch (err) {
      const { status, body, described } = errorResponse(err);
      if (!described.ours && status < 500) await repo.update({ orgId, key }, { statusCode: status, body });
      else await repo.delete({ orgId, key });
      throw err;
    }
  }
}
