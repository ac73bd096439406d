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
