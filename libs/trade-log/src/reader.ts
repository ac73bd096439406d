/**
 * Every reader of the log in a service (a projection, a durable consumer, an in-memory follower)
 * says how it is doing, so health, metrics and the operator's parked-event commands can treat
 * them alike.
 */
export interface ReaderHealth {
  readonly reader: string;
  readonly kind: 'projection' | 'consumer' | 'follower';
  /** 'running' and caught up or catching up; 'retrying' after a failed attempt; 'failed' when it gave up. */
  readonly state: 'idle' | 'running' | 'retrying' | 'stopping' | 'failed';
  /** The last stream sequence it applied or handled. */
  readonly position: number;
  /** Messages of its filter still to read after `position`, as the server last said. */
  readonly lag: number;
  /** The stream time (ms since the epoch) of the last event it applied or handled: with `lag`, how far behind it is in time. */
  readonly lastEventAtMs?: number;
  /**
   * The stream time of the oldest event it holds and has not yet applied (a batch in hand), if any:
   * with `lag` > 0, how far behind it is in time is the age of this (else of `lastEventAtMs`).
   */
  readonly oldestUnappliedAtMs?: number;
  /** Whether a parked event of this reader leaves the service unable to be correct (readiness red). */
  readonly critical: boolean;
  readonly lastError?: string;
}

export interface Reader {
  readonly name: string;
  readonly kind: ReaderHealth['kind'];
  readonly critical: boolean;
  health(): ReaderHealth;
  /** Stops reading; what is in hand finishes first. */
  stop(): Promise<void>;
  /** Re-applies the parked events of one aggregate key, in order; stops at the first that still fails. */
  retryParked(key: string): Promise<{ applied: number; stillParked: import('./parking').ParkedEvent[] }>;
}
