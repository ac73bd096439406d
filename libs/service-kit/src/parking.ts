import { Controller, type Type } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { DomainError } from '@starminer/domain';
import { COMMANDS, LIMITS, type ParkedEventView, type PayloadOf, type ReplyOf, type ServiceWithCommands } from '@starminer/events';
import type { ParkedEvent } from '@starminer/trade-log';
import { CommandHandler } from './commands';
import { ServiceHealth } from './health';
import { digestReadModel, readModelChunk } from './read-models';
import { ServiceRuntime } from './runtime';

const view = (p: ParkedEvent): ParkedEventView => ({
  reader: p.reader,
  seq: p.seq,
  subject: p.subject,
  type: p.type,
  key: p.key,
  error: p.error,
  blockedBy: p.blockedBy,
  attempts: p.attempts,
  parkedAt: p.parkedAt.toISOString(),
});

/**
 * The operator's commands over one service's parked events: `cmd.<service>.listParked` pages them
 * in log order, `cmd.<service>.retryParked` re-applies one reader's events of one aggregate key,
 * in order, after a fix (new code, an upcaster, a repaired dependency). The gateway exposes both
 * to the operator at `/v1/ops/parked`. With them, the auditor's: `cmd.<service>.readModelDigest`
 * (every read model's digest at its checkpoint) and `readModelChunk` (the rows of one chunk). And
 * `cmd.<service>.status`: readiness as GET /health/ready decides it, with each dependency and
 * reader, for the operator's `/v1/ops/status`.
 */
export function parkingHandlers(service: ServiceWithCommands): Type<unknown> {
  const commands = COMMANDS[service];
  const list = commands.listParked;
  const retry = commands.retryParked;
  const digest = commands.readModelDigest;
  const chunk = commands.readModelChunk;
  const status = commands.status;

  @Controller()
  class ParkedEventHandlers {
    constructor(
      private readonly rt: ServiceRuntime,
      private readonly health: ServiceHealth,
    ) {}

    @CommandHandler(status)
    status(): Promise<ReplyOf<typeof status>> {
      return this.health.status();
    }

    @CommandHandler(list)
    async listParked(@Payload() p: PayloadOf<typeof list>): Promise<ReplyOf<typeof list>> {
      const limit = p.limit ?? LIMITS.parkedPageSizeMax;
      const parked = await this.rt.parking.list({ afterSeq: p.after?.seq, afterReader: p.after?.reader, limit });
      const last = parked[parked.length - 1];
      return { service, parked: parked.map(view), next: parked.length === limit && last ? { seq: last.seq, reader: last.reader } : null };
    }

    @CommandHandler(retry)
    async retryParked(@Payload() p: PayloadOf<typeof retry>): Promise<ReplyOf<typeof retry>> {
      const reader = this.rt.reader(p.reader);
      if (!reader) throw new DomainError('PARKED_EVENTS_NOT_FOUND', `${service} has no reader ${p.reader}`, { readers: this.rt.readers.map((r) => r.name) });
      const parked = await this.rt.parking.blockedAmong(this.rt.db, p.reader, [p.key]);
      if (parked.size === 0) throw new DomainError('PARKED_EVENTS_NOT_FOUND', `${p.reader} has no parked events of ${p.key}`);
      const { applied, stillParked } = await reader.retryParked(p.key);
      return { applied, stillParked: stillParked.map(view) };
    }

    @CommandHandler(digest)
    async readModelDigest(): Promise<ReplyOf<typeof digest>> {
      const models = [];
      for (const m of this.rt.readModels) models.push(await digestReadModel(this.rt.db, this.rt.service, m));
      return { service, models };
    }

    @CommandHandler(chunk)
    async readModelChunk(@Payload() p: PayloadOf<typeof chunk>): Promise<ReplyOf<typeof chunk>> {
      const model = this.rt.readModels.find((m) => m.name === p.model);
      const names = () => this.rt.readModels.map((m) => m.name);
      if (!model) throw new DomainError('READ_MODEL_NOT_FOUND', `${service} projects no read model ${p.model}`, { models: names() });
      try {
        return await readModelChunk(this.rt.db, this.rt.service, model, p.table, p.chunk);
      } catch (err) {
        if (err instanceof RangeError) throw new DomainError('READ_MODEL_NOT_FOUND', err.message);
        throw err;
      }
    }
  }
  Object.defineProperty(ParkedEventHandlers, 'name', { value: `${service[0].toUpperCase()}${service.slice(1)}ParkedEventHandlers` });
  return ParkedEventHandlers;
}
