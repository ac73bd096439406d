import { uuidv7 } from 'uuidv7';
import { makeEvent, type TradeEvent } from '@starminer/events';
import type { Draft } from '@starminer/domain';

export interface Causation {
  readonly correlationId: string;
  readonly causationId: string;
  readonly actor: string;
}

/** Wraps a decider's drafts into envelopes: ids and time come from here, the edge. */
export function envelope(drafts: readonly Draft[], aggregateId: string, causation: Causation, now: Date = new Date()): TradeEvent[] {
  return drafts.map((d) =>
    makeEvent(d.type, d.data as never, {
      id: uuidv7(),
      aggregateId,
      occurredAt: now.toISOString(),
      correlationId: causation.correlationId,
      causationId: causation.causationId,
      actor: causation.actor,
    }),
  );
}
