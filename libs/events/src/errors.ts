/**
 * Every refusal the market answers, by machine-readable code, with its kind. The kind says what
 * sort of refusal it is, so every edge maps it the same way (HTTP status, NATS reply); the code is
 * what clients branch on. A code is never reused for another meaning.
 */
export const ERROR_KINDS = [
  'invalid',
  'unauthenticated',
  'insufficient-funds',
  'forbidden',
  'not-found',
  'conflict',
  'too-large',
  'unsupported-media',
  'unprocessable',
  'unavailable',
  'internal',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export const ERRORS = {
  // a request or command that does not fit its schema, or breaks a rule of the market
  VALIDATION_FAILED: { kind: 'invalid', why: 'the request does not fit its schema; details.violations names each field and limit' },
  BAD_REQUEST: { kind: 'invalid', why: 'the request is malformed (its path, its method, its headers)' },
  MALFORMED_JSON: { kind: 'invalid', why: 'the body is not JSON' },
  JSON_TOO_DEEP: { kind: 'invalid', why: 'the body nests deeper than the limit' },
  BAD_ID: { kind: 'invalid', why: 'an id in the path is not 1-128 of A-Z a-z 0-9 _ -' },
  BAD_CURSOR: { kind: 'invalid', why: 'the cursor is not one this endpoint handed out' },
  BAD_LAST_EVENT_ID: { kind: 'invalid', why: 'Last-Event-ID (or ?after=) is not a decimal log sequence (1-19 digits) as a job event stream hands out' },
  BAD_FILTER: { kind: 'invalid', why: 'the node filter does not parse; details name the term, its position and what was expected' },
  BAD_AMOUNT: { kind: 'invalid', why: 'an amount is not a non-negative decimal integer string in base units' },
  AMOUNT_NOT_POSITIVE: { kind: 'invalid', why: 'the amount must be greater than 0' },
  FAUCET_LIMIT: { kind: 'invalid', why: 'the faucet mints at most its limit per call' },
  IDEMPOTENCY_KEY_INVALID: { kind: 'invalid', why: 'Idempotency-Key must be 1-128 printable ASCII characters' },
  BUDGET_NOT_POSITIVE: { kind: 'invalid', why: 'budgetWei must be greater than 0' },
  BUDGET_TOO_LARGE: { kind: 'invalid', why: 'budgetWei is above the limit' },
  DEADLINE_OUT_OF_RANGE: { kind: 'invalid', why: 'deadlineSec must be at least expectedRuntimeSec and at most the limit' },
  GPU_COUNT_REQUIRED: { kind: 'invalid', why: 'gpuCount must be at least 1 when gpuModels are given' },
  GPU_COUNT_TOO_LARGE: { kind: 'invalid', why: 'gpuCount is above the GPUs of any node' },
  REDUNDANCY_COPIES_OUT_OF_RANGE: { kind: 'invalid', why: 'redundancy.copies must be an integer from 2 to LIMITS.redundancyCopiesMax' },
  REDUNDANCY_TOLERANCE_INVALID: { kind: 'invalid', why: 'redundancy.compare tolerances must be finite numbers from 0 to LIMITS.redundancyToleranceMax' },
  REDUNDANCY_GPU_MODEL_REQUIRED: { kind: 'invalid', why: 'a redundant job names exactly one GPU model in requirements.gpuModels: its copies run on one class' },
  REQUIREMENT_UNSATISFIABLE: { kind: 'invalid', why: 'no GPU model listed has the VRAM asked' },
  RUNTIME_OUT_OF_RANGE: { kind: 'invalid', why: 'expectedRuntimeSec is out of range' },
  UNKNOWN_GPU_MODEL: { kind: 'invalid', why: 'the GPU model is not in the catalogue' },
  VRAM_IMPLAUSIBLE: { kind: 'invalid', why: 'the VRAM is more than this GPU model has' },
  BENCHMARK_REQUIRED: { kind: 'invalid', why: 'a measured benchmark score is required' },
  TELEMETRY_INVALID: { kind: 'invalid', why: "a heartbeat's telemetry names more GPUs (or a higher GPU index) than the node registered" },
  BAD_CRON: { kind: 'invalid', why: 'a cron expression does not parse (cron-parser syntax, 5 fields), or its slots come closer than LIMITS.vaultCronIntervalSecMin; details name the trigger' },
  BAD_TIME_ZONE: { kind: 'invalid', why: 'the time zone is not an IANA zone name (e.g. Europe/Berlin, UTC)' },
  CAP_BELOW_TEMPLATE_BUDGET: { kind: 'invalid', why: "a vault's cap per period must cover at least one job of its template (its budgetWei)" },
  DUPLICATE_TRIGGER_ID: { kind: 'invalid', why: 'two triggers of a vault have the same triggerId' },
  WEBHOOK_URL_NOT_ALLOWED: { kind: 'invalid', why: 'the webhook URL does not resolve to a public address (loopback, private and link-local targets are refused)' },
  BAD_WORKLOAD: { kind: 'invalid', why: 'the workload misses a parameter of its kind' },
  EVENT_REFUSED: { kind: 'invalid', why: 'what the command would append does not fit the catalogue; details.violations names the field and the limit' },
  COMMAND_INVALID: { kind: 'invalid', why: 'a command payload does not fit its schema' },
  // who the caller is
  API_KEY_REQUIRED: { kind: 'unauthenticated', why: 'send Authorization: Bearer <api key>' },
  API_KEY_INVALID: { kind: 'unauthenticated', why: 'the API key is unknown' },
  OPERATOR_TOKEN_INVALID: { kind: 'unauthenticated', why: 'the call needs the operator token' },
  NODE_SIGNATURE_REQUIRED: { kind: 'unauthenticated', why: 'the x-node-* signature headers are missing or malformed' },
  NODE_SIGNATURE_INVALID: { kind: 'unauthenticated', why: 'the signature does not match the node key and the request' },
  NONCE_REPLAYED: { kind: 'unauthenticated', why: 'the nonce was already used; send a higher one' },
  NODE_SIGNATURE_WRONG_DEPLOYMENT: { kind: 'unauthenticated', why: "the request is signed for another deployment: x-node-chain-id or x-node-origin is not this gateway's chain id or public origin" },
  NODE_SESSION_INVALID: { kind: 'unauthenticated', why: 'the Authorization: NodeSession token is malformed, or not one this deployment issued (another secret, another chain, an altered field); log in again (POST /v1/providers/sessions, signed)' },
  NODE_SESSION_EXPIRED: { kind: 'unauthenticated', why: 'the node session has expired; log in again (POST /v1/providers/sessions, signed)' },
  TRIGGER_SIGNATURE_INVALID: { kind: 'unauthenticated', why: 'the trigger signature header is missing, malformed, too old, or not the HMAC of the vault trigger secret over "<t>.<raw body>"' },
  // money
  INSUFFICIENT_FUNDS: { kind: 'insufficient-funds', why: "the budget exceeds the org's spendable AGPU" },
  VAULT_BALANCE_INSUFFICIENT: { kind: 'insufficient-funds', why: "the vault's balance less what its firings may still draw is below one job's budget" },
  // what the caller may do
  BAD_RESULT_SIGNATURE: { kind: 'forbidden', why: 'the result is not signed by the assigned node key' },
  NOT_ASSIGNED_NODE: { kind: 'forbidden', why: 'the job is assigned to another node' },
  NOT_NODE_KEY: { kind: 'forbidden', why: 'signed by another key than the node key' },
  FORBIDDEN: { kind: 'forbidden', why: 'the caller may not do this' },
  // what does not exist
  NOT_FOUND: { kind: 'not-found', why: 'no such route' },
  JOB_NOT_FOUND: { kind: 'not-found', why: 'no such job in your org' },
  NODE_NOT_FOUND: { kind: 'not-found', why: 'the node is not registered' },
  ORG_NOT_FOUND: { kind: 'not-found', why: 'no such org' },
  DEV_MODE_OFF: { kind: 'not-found', why: 'the faucet exists only in dev mode' },
  PARKED_EVENTS_NOT_FOUND: { kind: 'not-found', why: 'no parked events under that key' },
  READ_MODEL_NOT_FOUND: { kind: 'not-found', why: 'this service projects no read model or table of that name' },
  MINT_NOT_FOUND: { kind: 'not-found', why: 'no faucet request (or recorded mint) with this reference' },
  VAULT_NOT_FOUND: { kind: 'not-found', why: 'no such vault in your org' },
  TRIGGER_NOT_FOUND: { kind: 'not-found', why: 'the vault has no trigger of that id (of that kind)' },
  WEBHOOK_NOT_FOUND: { kind: 'not-found', why: 'no such webhook in your org (or it was deleted)' },
  WEBHOOK_DELIVERY_NOT_FOUND: { kind: 'not-found', why: 'no such delivery of this webhook' },
  // the state does not allow it
  CONTRACT_NOT_OPEN: { kind: 'conflict', why: 'the job has no open contract' },
  OPEN_NOT_RESTORABLE: { kind: 'conflict', why: 'the open to restore or give up is not one the chain needs (no open recorded, or the contract is settled)' },
  SETTLE_EFFECT_NOT_RECORDED: { kind: 'conflict', why: 'the release or refund to restore or give up is not the one the log records' },
  IDEMPOTENCY_IN_PROGRESS: { kind: 'conflict', why: 'the first request with this Idempotency-Key is still being answered' },
  JOB_EXISTS: { kind: 'conflict', why: 'a job with this id exists' },
  JOB_ID_IN_USE: { kind: 'conflict', why: 'the job id belongs to another request (another org, another Idempotency-Key or another budget)' },
  JOB_NOT_CANCELLABLE: { kind: 'conflict', why: 'only a queued job can be cancelled' },
  JOB_ALREADY_FINAL: { kind: 'conflict', why: 'the job has ended (settled, refunded, failed or cancelled); message and details.status say how' },
  JOB_NOT_QUEUED: { kind: 'conflict', why: 'the job is no longer queued' },
  CONTRACT_NOT_REASSIGNING: { kind: 'conflict', why: "the contract has no failed attempt waiting for its escrow's move to another node" },
  ATTEMPT_OUT_OF_ORDER: { kind: 'conflict', why: "the job's attempts go one after the other: this one does not follow the job's current attempt" },
  ATTEMPTS_EXHAUSTED: { kind: 'conflict', why: 'the job has had its last attempt (LIMITS.jobAttemptsMax): its escrow is refunded' },
  NODE_EXCLUDED: { kind: 'conflict', why: "the node failed an earlier attempt of this job and may not run it again" },
  NODE_EXISTS: { kind: 'conflict', why: 'the node id is registered with another key' },
  NODE_KEY_IN_USE: { kind: 'conflict', why: 'the node key is bound to another node id' },
  NOT_SETTLING_RELEASE: { kind: 'conflict', why: 'the contract is not settling' },
  NOT_SETTLING_REFUND: { kind: 'conflict', why: 'the contract is not settling' },
  ORG_EXISTS: { kind: 'conflict', why: 'the org exists' },
  RESULT_ALREADY_FINAL: { kind: 'conflict', why: 'the contract is already settling or settled' },
  RESULT_TOO_LATE: { kind: 'conflict', why: 'the deadline has passed; the escrow goes back to the requester' },
  WRONG_POOL: { kind: 'conflict', why: 'the node stakes in another pool' },
  VAULT_ID_IN_USE: { kind: 'conflict', why: 'the vault id belongs to another request (another org or another body)' },
  VAULT_PAUSED: { kind: 'conflict', why: 'the vault is paused: nothing fires until it is resumed' },
  VAULT_CLOSED: { kind: 'conflict', why: 'the vault is closed for good' },
  VAULT_OPEN_FAILED: { kind: 'conflict', why: 'the vault could not be opened on chain (details.code says why, e.g. the deposit not covered): nothing of it fires' },
  TRIGGER_KEYS_FULL: { kind: 'conflict', why: 'the trigger already decided LIMITS.vaultTriggerKeysMax keys within LIMITS.vaultTriggerKeyWindowSec: retry once the oldest leaves the window' },
  TRIGGER_KEY_EXPIRED: { kind: 'conflict', why: 'the slot is older than LIMITS.vaultTriggerKeyWindowSec before the newest the trigger decided: whether it fired is no longer remembered' },
  VAULT_CAP_EXCEEDED: { kind: 'conflict', why: "this firing's budget would take the period's spending above the vault's cap; details say the period and what is left" },
  TOP_UP_NOT_OPEN: {
    kind: 'conflict',
    why: "the job's escrow cannot be topped up now: it has no open contract yet, its deadline has passed, or it is disputed or settled; details.chainCode names the chain's refusal",
  },
  TOP_UP_ID_CONFLICT: { kind: 'conflict', why: "this Idempotency-Key's top-up already paid another job or another amount" },
  TOP_UP_PRICE_CHANGED: { kind: 'conflict', why: "the job was matched again (another node, another price) since the top-up was priced: ask again with a new Idempotency-Key; details say the price now" },
  WEBHOOK_LIMIT_REACHED: { kind: 'conflict', why: 'the org has as many webhooks as it may (LIMITS.webhooksPerOrgMax); delete one first' },
  // the request itself
  PAYLOAD_TOO_LARGE: { kind: 'too-large', why: 'the body is above the size limit' },
  UNSUPPORTED_MEDIA_TYPE: { kind: 'unsupported-media', why: 'send Content-Type: application/json (utf-8)' },
  COST_OVER_BUDGET: { kind: 'unprocessable', why: 'the cost is above the budget' },
  TOP_UP_LIMIT: {
    kind: 'unprocessable',
    why: "the top-up is past the chain's bounds: a top-up adds at most 7 days, all of a job's top-ups at most 30 days and 32 top-ups; details.chainCode names which",
  },
  IDEMPOTENCY_KEY_REUSED: { kind: 'unprocessable', why: 'the Idempotency-Key was used for another request' },
  // ours
  COMMAND_UNAVAILABLE: { kind: 'unavailable', why: 'the service that answers this command did not answer in time' },
  AGGREGATE_UNREADABLE: { kind: 'unavailable', why: 'an event of this aggregate cannot be read; an operator has been told' },
  FUNDS_VIEW_STALE: { kind: 'unavailable', why: "a reservation of the org was released while its balance was read, again after every bounded retry; try again" },
  VERIFICATION_BUSY: { kind: 'unavailable', why: 'every verification slot is taken and its queue is full (or settlement is stopping): nothing was decided; send the same result again after details.retryAfterSec' },
  VERIFICATION_TIMED_OUT: { kind: 'unavailable', why: "recomputing the result ran past the bound its workload's size sets (our machine was too slow): nothing was decided; send the same result again after details.retryAfterSec" },
  ATTESTATION_UNAVAILABLE: { kind: 'unavailable', why: "the TEE attestation could not be checked now (the attestation service's keys did not come in time): nothing was decided; send the same result again after details.retryAfterSec" },
  CHAIN_UNAVAILABLE: { kind: 'unavailable', why: 'the chain did not answer; retry after the Retry-After seconds' },
  QUOTE_UNAVAILABLE: { kind: 'unavailable', why: 'the matching engine cannot quote now: it is rebuilding its state from the log (at start), or answering as many quotes a second as it may; nothing was quoted: retry after the Retry-After seconds' },
  TOO_MANY_STREAMS: { kind: 'unavailable', why: 'this gateway serves as many live event streams as it may; reconnect after the Retry-After seconds (another replica may take it)' },
  DEPENDENCY_UNAVAILABLE: { kind: 'unavailable', why: 'a store this request needs (the database, the log) is away for a moment; retry after the Retry-After seconds' },
  INTERNAL: { kind: 'internal', why: 'our bug; it is logged' },
} as const satisfies Record<string, { kind: ErrorKind; why: string }>;

export type ErrorCode = keyof typeof ERRORS;

export const kindOf = (code: ErrorCode): ErrorKind => ERRORS[code].kind;
export const isErrorCode = (code: string): code is ErrorCode => Object.prototype.hasOwnProperty.call(ERRORS, code);

/** The one error body every edge answers: `{ error: { code, message, details } }`. */
export interface ErrorBody {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}
