import { Injectable } from '@nestjs/common';
import { DomainError } from '@starminer/domain';
import { domainErrorResponse } from '@starminer/service-kit';
import { toJson } from '@starminer/events';
import { IdempotencyRow } from './entities';
import { sha256Hex } from './auth';
import { GatewayService } from './gateway.service';

export const IDEMPOTENCY_KEY_LENGTH_MAX = 200;

export interface Answer {
  readonly statusCode: number;
  readonly body: unknown;
}

/**
 * `Idempotency-Key`: the first answer is stored with a hash of the request; the same key with the
 * same request gets that answer again, with another request a 422. A server error is not stored,
 * so the client may retry it.
 */
@Injectable()
export class Idempotency {
  constructor(private readonly gw: GatewayService) {}

  async run(orgId: string, key: string | undefined, request: unknown, work: () => Promise<Answer>): Promise<Answer> {
    if (key === undefined) return work();
    if (key.length === 0 || key.length > IDEMPOTENCY_KEY_LENGTH_MAX)
      throw new DomainError('IDEMPOTENCY_KEY_INVALID', `Idempotency-Key must be 1..${IDEMPOTENCY_KEY_LENGTH_MAX} characters`);
    const repo = this.gw.rt.db.getRepository(IdempotencyRow);
    const requestHash = sha256Hex(toJson(request));
    const inserted: unknown[] = await this.gw.rt.db.query(
      `INSERT INTO "${this.gw.rt.service}"."idempotency" ("orgId", "key", "requestHash", "createdAt") VALUES ($1, $2, $3, now())
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
      if (err instanceof DomainError) {
        const answer = domainErrorResponse(err);
        await repo.update({ orgId, key }, { statusCode: answer.status, body: answer.body });
      } else {
        await repo.delete({ orgId, key });
      }
      throw err;
    }
  }
}
