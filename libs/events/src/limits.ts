/**
 * Every bound of the market's messages, named once: the event schemas, the command schemas, the
 * gateway's request schemas, the deciders and the matching engine all read them from here, so a
 * value the edge accepts is one every reader accepts. Why each value is what it is sits next to it.
 */
export const LIMITS = {
  // ------------------------------------------------------------------ identifiers and envelope
  /** Ids are one NATS subject token (`trade.<aggregate>.<id>`): [A-Za-z0-9_-], at most this long. */
  idLengthMax: 128,
  /** An event id (UUIDv7 as written today; 64 leaves room for other sortable ids). */
  eventIdLengthMax: 64,
  eventTypeLengthMax: 64,
  /** `org:<id>`, `node:<id>`, `service:<name>`, `operator`. */
  actorLengthMax: 200,
  /** correlationId and causationId carry an id or a client's Idempotency-Key. */
  causationIdLengthMax: 128,

  // ------------------------------------------------------------------ free text
  orgNameLengthMax: 200,
  /** Failure, waiting, availability and settlement reasons: a sentence, never a dump. */
  reasonLengthMax: 1000,
  /** A machine-readable code (UPPER_SNAKE or an engine's kebab code). */
  codeLengthMax: 100,
  gpuModelLengthMax: 64,
  regionLengthMax: 64,
  benchmarkKindLengthMax: 64,
  /** An ISO-8601 timestamp as the agent measured it. */
  measuredAtLengthMax: 64,

  // ------------------------------------------------------------------ supply
  /**
   * GPUs on one node, and so GPUs one job may ask on one node: the engine keeps a slot per GPU
   * count (libs/matching supply-index) and routes counts 1..this. Larger machines register as
   * several nodes.
   */
  gpusPerNodeMax: 16,
  /** VRAM of one GPU in GiB (the largest today is 141). */
  vramGiBMax: 4096,
  /** A node's round trip to its region's edge, and a job's latency bound. */
  latencyMsMax: 10_000,
  carbonGPerKwhMax: 2000,
  /** Runtimes a node offers (there are three kinds today). */
  nodeRuntimesMax: 8,
  /** The tool that measured a benchmark and its version ("torch 2.11.0+cu130 cuda 13.0"). */
  benchmarkToolLengthMax: 128,

  // ------------------------------------------------------------------ live telemetry (heartbeats)
  /** A GPU's power draw or limit, watts: the largest boards draw about 1.2 kW, so 5 kW is a broken reading. */
  gpuPowerWMax: 5_000,
  /** A GPU's temperature, °C (a sensor past this is broken, not hot). */
  gpuTemperatureCMax: 150,
  /**
   * Telemetry samples the registry keeps per node (the latest first): one heartbeat every 10 s or
   * so, so about ten minutes of history. Kept in the registry's store, never on the log.
   */
  telemetryHistoryMax: 60,
  /**
   * Beats in one `cmd.registry.heartbeats` (a gateway's poll heartbeats, batched): 1,000 idle nodes
   * beat about 125 times a second, so a flush every half second carries about 60; 500 leaves room
   * for a fleet several times that on one gateway and bounds one command's reply (under 100 KB).
   */
  heartbeatsPerCommandMax: 500,

  // ------------------------------------------------------------------ demand
  /** GPU models and regions one job may list (each any of them). */
  jobGpuModelsMax: 32,
  jobRegionsMax: 32,
  expectedRuntimeSecMax: 7 * 24 * 3600,
  deadlineSecMax: 30 * 24 * 3600,
  /** The most one job may escrow: 10^12 AGPU (10^30 base units), far above any real job. */
  budgetWeiMax: 10n ** 30n,
  workloadSeedLengthMax: 256,
  /** A hash chain anyone can recompute; 50M sha256 take about a minute on one core. */
  hashChainIterationsMax: 50_000_000,
  /** A matrix product anyone can recompute: size x size, exact in float64 up to 512. */
  matmulSizeMax: 512,
  commandImageLengthMax: 512,
  commandArgsMax: 64,
  commandArgLengthMax: 4096,
  /** What a provider returns inline (bulky outputs are stored elsewhere and hashed here). */
  resultOutputLengthMax: 10_000,
  /**
   * Redundancy (issue 17): one job run on this many nodes of one class at most, results compared.
   * 2 can only agree or tie; 3 gives a majority against one dishonest node; 5 against two.
   */
  redundancyCopiesMax: 5,
  /**
   * The widest tolerance a requester may state when comparing float results across GPUs
   * (absolute and relative). Measured on an NVIDIA H200: its fp32 product differs from a CPU's by
   * up to 1.1e-3 absolute (../shared/data/gpu); 1 is three orders of magnitude above that, and a
   * tolerance wider still would accept any answer.
   */
  redundancyToleranceMax: 1,
  /**
   * Re-match on failure (issue 16): attempts of one job, the first match included. A node that
   * went offline or gave the job up sends it to another node, at most this many times in all;
   * then the escrow is refunded with the reason. ComputeEscrow.MAX_ATTEMPTS_PER_JOB is the same.
   */
  jobAttemptsMax: 3,
  /**
   * A TEE attestation report submitted with a result (an NVIDIA NRAS token for 8 GPUs is about
   * 20 KB): with the largest output it still fits in requestBodyBytesMax.
   */
  attestationReportLengthMax: 192 * 1024,

  // ------------------------------------------------------------------ vaults
  /** Triggers of one vault: a few schedules, a price and a URL; every tick looks at each. */
  vaultTriggersMax: 8,
  /** A cron expression (six fields with lists and ranges fit easily). */
  cronExpressionLengthMax: 120,
  /** An IANA time zone name (the longest is about 30 characters). */
  timeZoneLengthMax: 64,
  /** A firing's slot: an ISO time, an Idempotency-Key (128) or an event id. */
  vaultSlotLengthMax: 160,
  /** A vault's period: a minute at least (a tick is seconds), a year at most. */
  vaultPeriodSecMin: 60,
  vaultPeriodSecMax: 366 * 24 * 3600,
  /** Firings (with skips) one vault answer lists, newest first; the counts cover all of them. */
  vaultFiringsListedMax: 50,
  /** A trigger URL's signature is refused when its timestamp is further than this from the gateway's clock. */
  vaultTriggerSignatureSkewSecMax: 300,
  /**
   * Consecutive slots of a cron trigger are at least this far apart (5-field expressions only, no
   * seconds): a schedule adds at most one event a minute to its vault's log.
   */
  vaultCronIntervalSecMin: 60,
  /**
   * A URL or price trigger's keys (Idempotency-Key, price event id) are remembered this long after
   * their slot: the same key again within it answers the first firing.
   */
  vaultTriggerKeyWindowSec: 24 * 3600,
  /** Keys one URL or price trigger remembers within the window; a further key is refused until the oldest leaves it. */
  vaultTriggerKeysMax: 200,

  // ------------------------------------------------------------------ money
  /** The dev faucet mints at most 10^6 AGPU a call. */
  faucetAmountWeiMax: 1_000_000n * 10n ** 18n,

  // ------------------------------------------------------------------ requests at the edge
  /** Request bodies above this are refused with 413 before they are parsed. */
  requestBodyBytesMax: 256 * 1024,
  /** JSON nesting of a request body; the deepest real body (a job) nests 3 levels. */
  jsonDepthMax: 16,
  /** `Idempotency-Key`: printable ASCII; it becomes the causation id of what it appends. */
  idempotencyKeyLengthMax: 128,
  /** Items per page of every list, and the default. */
  pageSizeMax: 100,
  pageSizeDefault: 50,
  /** An opaque cursor as this API hands it out. */
  cursorLengthMax: 300,
  /**
   * The longest a provider agent's `GET .../assignments?waitMs=` holds the request open for new
   * work (a long poll): under the SDK's 30 s request timeout, so a waiting agent is never cut off.
   */
  assignmentsWaitMsMax: 20_000,
  /**
   * A node session's life (POST /v1/providers/sessions, issue 13): the token stands in for the node
   * key's signature on every call until then, so it bounds how long a leaked token is worth
   * anything; the SDK renews at 80 % of it. An hour costs a fleet one signed login per node an
   * hour instead of one signature check and one nonce write per call.
   */
  nodeSessionTtlSecDefault: 3600,
  /** The longest NODE_SESSION_TTL_SEC a gateway accepts: a day. */
  nodeSessionTtlSecMax: 86_400,
  /**
   * A command's payload on NATS: room for the largest request body and what the gateway adds to
   * it (ids, defaults, the transport's wrapper), under the server's max_payload of 1 MiB.
   */
  commandPayloadBytesMax: 512 * 1024,
  /** Parked events one list answer carries. */
  parkedPageSizeMax: 100,
  /** Stuck jobs the operator's status lists (GET /v1/ops/status; the count covers all of them): a screenful to start from. */
  opsStuckJobsListedMax: 20,
  /**
   * Rows of a read model hashed per chunk of its digest (cmd.<service>.readModelDigest), and the most
   * rows one readModelChunk answer carries: the auditor finds the first differing row by the first
   * differing chunk. A chunk of read-model rows (text columns) stays well under the payload bound.
   */
  readModelChunkRows: 500,
  /** Chunk hashes one digest of a table carries (64 hex each): 4,096 chunks (2M rows) is 256 KiB, under the payload bound. */
  readModelChunksMax: 4_096,
  /** Markets one quote lists (cheapest first): a screenful; the count of all of them goes with it. */
  quoteMarketsMax: 20,
  /**
   * Candles one price history answer carries (GET /v1/market/prices/history): a chart's width in
   * points (1,000 one-minute candles are about 17 hours, 1,000 daily ones about 3 years). A window
   * that needs more is refused naming `from`, never cut short; with no `from`, the window is the
   * last this many candles up to `to`.
   */
  priceCandlesMax: 1_000,
  /**
   * Markets (GPU model, region) whose supply one market stats answer lists (GET /v1/market/stats),
   * in (gpuModel, region) order: regions are free text, so the grouping is bounded; today's
   * catalogue of GPU models times a few dozen regions is well under it.
   */
  marketStatsMarketsMax: 500,

  // ------------------------------------------------------------------ node search (GET /v1/nodes?filter=)
  /** A filter is a line a person types (`gpu=H100 vram>=80 region in [eu-west,us-east]`); longer is a mistake. */
  nodeFilterLengthMax: 1000,
  /** Terms of one filter (ANDed): every field twice (a range) with room to spare. */
  nodeFilterTermsMax: 24,
  /** Values of one `in [...]` list: as many regions or GPU models as one job may list. */
  nodeFilterListItemsMax: 32,

  // ------------------------------------------------------------------ webhooks (POST /v1/webhooks)
  /** A webhook URL: room for any real endpoint with a query token; longer is a mistake, and it is shown in every listing. */
  webhookUrlLengthMax: 2048,
  /** A webhook's free-text description, shown back in listings. */
  webhookDescriptionLengthMax: 500,
  /**
   * Active webhooks per org: every job update is written once per webhook of its org (rows in the
   * gateway's projection, one HTTP request each), so the fan-out of one event is bounded by this.
   */
  webhooksPerOrgMax: 16,

  // ------------------------------------------------------------------ top-ups (POST /v1/jobs/{jobId}/top-ups)
  /**
   * The most one top-up adds to a job's deadline: ComputeEscrow.MAX_TOP_UP_EXTENSION_SEC (7 days),
   * so the edge refuses what the chain would. All top-ups of a job: 30 days, 32 of them (the chain's).
   */
  topUpExtraRuntimeSecMax: 7 * 24 * 3600,
} as const;

export type Limits = typeof LIMITS;
