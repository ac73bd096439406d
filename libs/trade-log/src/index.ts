export { connectTradeLog, TradeLog } from './trade-log';
export type { TradeLogOptions, AppendOptions, AppendResult, ReadOptions, ReadResult, PageResult, CommandHandlerOptions, CommandResult, CommandStart, AppendObservation, AppendObserver } from './trade-log';
export { consume, handlerSpan, traceOf } from './consumer';
export type { ConsumeOptions, ConsumerHandle } from './consumer';
export { ProjectionRunner } from './projection';
export type { ProjectionRunnerOptions } from './projection';
export { jsonDecode, jsonEncode, jobIdOfSubject } from './codec';
export { ParkingLot, parkingKeyOf, typeOfBody } from './parking';
export type { ParkedEvent, ParkRecord } from './parking';
export { SnapshotStore } from './snapshots';
export type { StoredSnapshot } from './snapshots';
export type { Reader, ReaderHealth } from './reader';
export { isTransientDatabaseError } from './transient';
export { backoffMs } from './batching';
export type { Decode, Encode, StoredEvent } from './codec';
export {
  TradeLogError,
  ConcurrencyConflictError,
  ConcurrencyRetriesExhaustedError,
  AggregateTooLargeError,
  EventDecodeError,
  EventApplyError,
  AppendFailedError,
  ReadIncompleteError,
  StalePositionError,
  TradeLogArgumentError,
  StreamConfigError,
  ConsumerConfigError,
  UnsupportedServerError,
  ProjectionTimeoutError,
  ProjectionStoppedError,
  PoisonEventError,
  DependencyUnavailableError,
} from './errors';
export * from './limits';
export {
  decideLease,
  leaseIsFree,
  leaseDeadlineMs,
  assertLeaseTiming,
  encodeLeaseRecord,
  decodeLeaseRecord,
  isLeaseName,
  LeaseRecordError,
  LEASE_TTL_MS_DEFAULT,
  LEASE_TTL_MS_MIN,
  LEASE_TTL_MS_MAX,
  LEASE_RENEW_DIVISOR,
  LEASE_CLOCK_SKEW_MS_DEFAULT,
  LEASE_RECORD_VERSION,
  LEASE_NAME_CHARS_MAX,
  LEASE_TIMING_DEFAULT,
} from './lease';
export type { LeaseRecord, LeaseTiming, LeaseWish, LeaseDecision, LeaseLossReason } from './lease';
export {
  PartitionLeases,
  ensureLeaseStream,
  LEASE_STREAM,
  LEASE_SUBJECT_PREFIX,
  LEASE_HISTORY_PER_SUBJECT,
  LEASE_PARTITIONS_MAX,
  LEASE_REPLICAS_MAX,
  LEASE_WRITE_ATTEMPTS_MAX,
  LEASE_RENEW_RETRY_DIVISOR,
} from './partition-leases';
export type { PartitionLeasesOptions, PartitionLossReason } from './partition-leases';
