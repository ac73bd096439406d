import type { components } from './generated/openapi';

/**
 * The API's shapes, generated from the OpenAPI document (`npm run openapi` writes
 * ./generated/openapi.ts with openapi-typescript), under their component names. Amounts are
 * decimal strings of AGPU base units (`...Wei`; parseAgpu / formatAgpu convert), instants ISO 8601
 * (`...At`), durations seconds (`...Sec`).
 */
type Schemas = components['schemas'];

export type ErrorEnvelope = Schemas['ErrorEnvelope'];
/** A code a client branches on (StarMinerApiError.code); `HTTP_<status>` for an answer without the envelope. */
export type ErrorCode = ErrorEnvelope['error']['code'];

// requester
export type CreateOrgRequest = Schemas['CreateOrgRequest'];
export type OrgCreated = Schemas['OrgCreated'];
export type Account = Schemas['Account'];
export type FaucetRequest = Schemas['FaucetRequest'];
export type FaucetMint = Schemas['FaucetMint'];
export type SubmitJobRequest = Schemas['SubmitJobRequest'];
export type JobRequirements = Schemas['JobRequirements'];
export type Workload = Schemas['Workload'];
export type JobAccepted = Schemas['JobAccepted'];
export type JobStatus = Schemas['JobStatus'];
export type Job = Schemas['Job'];
export type JobPage = Schemas['JobPage'];
export type JobCancelled = Schemas['JobCancelled'];
export type TopUpRequest = Schemas['TopUpRequest'];
/** A top-up of a running job's escrow as the chain made it (topUpJob). */
export type TopUp = Schemas['TopUp'];
export type JobUpdate = Schemas['JobUpdate'];
export type JobUpdateType = JobUpdate['type'];
export type JobUpdatePage = Schemas['JobUpdatePage'];
/** A job's events as the trade log stores them, each with its inclusion proof in the anchor on chain (getJobProofs). */
export type JobProofs = Schemas['JobProofs'];
export type ProvenEvent = Schemas['ProvenEvent'];
export type EventAnchor = Schemas['EventAnchor'];
export type StoredEnvelope = Schemas['StoredEnvelope'];
export type PriceTerms = Schemas['PriceTerms'];
export type MatchReceipt = Schemas['MatchReceipt'];
/** On a receipt made in a surge (engine 2.1.0 on): since when the market surged, and whether the winner is a staked pool's node. */
export type SurgePreference = NonNullable<MatchReceipt['surgePreference']>;
export type ReceiptCandidate = Schemas['ReceiptCandidate'];
export type Quote = Schemas['Quote'];
export type QuoteMarket = Schemas['QuoteMarket'];
export type QuoteReason = Schemas['QuoteReason'];
export type QuoteAlternative = Schemas['QuoteAlternative'];
export type Queues = Schemas['Queues'];
export type PriceBoard = Schemas['PriceBoard'];
export type MarketPrice = Schemas['MarketPrice'];
/** A market in surge (MarketPrice.surge, MarketSupply.surge; null where it is not): since when. */
export type MarketSurge = Schemas['MarketSurge'];
export type PriceTier = MarketPrice['tiers'][number]['tier'];
/** One market's price candles (getPriceHistory), oldest first. */
export type PriceHistory = Schemas['PriceHistory'];
export type PriceCandle = Schemas['PriceCandle'];
/** The candle widths getPriceHistory takes: a minute, five minutes, an hour, a day. */
export type PriceCandleIntervalSec = PriceHistory['intervalSec'];
/** The market now (getMarketStats): supply per market, matches per second over the last minute, queues. */
export type MarketStats = Schemas['MarketStats'];
export type MarketSupply = Schemas['MarketSupply'];
export type Node = Schemas['Node'];
/** One node with its GPU telemetry (GET /v1/nodes/{nodeId}). */
export type NodeDetail = Schemas['NodeDetail'];
export type NodePage = Schemas['NodePage'];
export type CreateWebhookRequest = Schemas['CreateWebhookRequest'];
export type Webhook = Schemas['Webhook'];
export type WebhookCreated = Schemas['WebhookCreated'];
export type WebhookList = Schemas['WebhookList'];
/** The body of a webhook POST: `{ deliveryId, webhookId, event: JobUpdate }`. */
export type WebhookDelivery = Schemas['WebhookDelivery'];
export type WebhookDeliveryRecord = Schemas['WebhookDeliveryRecord'];
export type WebhookDeliveryAttempt = Schemas['WebhookDeliveryAttempt'];
export type DeliveryLog = Schemas['DeliveryLog'];
export type RedeliveryAccepted = Schemas['RedeliveryAccepted'];
/** A requester's compute vault (createVault, getVault): its terms, balance, period, template, triggers and newest firings. */
export type Vault = Schemas['Vault'];
export type VaultCreated = Schemas['VaultCreated'];
export type VaultPage = Schemas['VaultPage'];
export type VaultFiring = Schemas['VaultFiring'];
export type VaultFired = Schemas['VaultFired'];
export type CreateVaultRequest = Schemas['CreateVaultRequest'];
export type VaultTriggerRequest = Schemas['VaultTriggerRequest'];
/** The trade log's anchors on chain, each checked against the anchor contract (listAnchors, anchors). */
export type Anchor = Schemas['Anchor'];
export type AnchorPage = Schemas['AnchorPage'];

// operator (getOpsStatus, with the operator token)
export type OpsStatus = Schemas['OpsStatus'];
export type ServiceStatus = Schemas['ServiceStatus'];
export type ReaderStatus = Schemas['ReaderStatus'];
export type DependencyCheck = Schemas['DependencyCheck'];
export type StuckJob = Schemas['StuckJob'];

// provider (`@starminer/sdk/provider`)
export type RegisterNodeRequest = Schemas['RegisterNodeRequest'];
export type NodeRegistered = Schemas['NodeRegistered'];
export type HeartbeatAck = Schemas['HeartbeatAck'];
/** A node key's session (createNodeSession): its token stands in for a signature per call until it expires. */
export type NodeSession = Schemas['NodeSession'];
/** A heartbeat's body: the GPUs' live telemetry, when the node has GPUs. */
export type HeartbeatRequest = Schemas['HeartbeatRequest'];
export type NodeTelemetry = Schemas['NodeTelemetry'];
export type Assignment = Schemas['Assignment'];
export type Assignments = Schemas['Assignments'];
export type MarketAddresses = Schemas['MarketAddresses'];
export type ProviderJobStatus = Schemas['ProviderJobStatus'];
export type SubmitResultRequest = Schemas['SubmitResultRequest'];
export type ResultAccepted = Schemas['ResultAccepted'];
export type NodeStatus = Schemas['NodeStatus'];
export type JobCounts = Schemas['JobCounts'];
export type EarningsPage = Schemas['EarningsPage'];
export type EarnedJob = Schemas['EarnedJob'];

// the names the SDK used before the document had components; kept so callers need not change
export type WorkloadSpec = Workload;
export type Requirements = JobRequirements;
export type NodeRegistration = RegisterNodeRequest;
export type ResultSubmission = SubmitResultRequest;

/** Every job status, in the order a job passes them; the last four are final. */
export const JOB_STATUSES = ['queued', 'matched', 'contracted', 'running', 'completed', 'settled', 'refunded', 'failed', 'cancelled'] as const satisfies readonly JobStatus[];
/** Statuses a job never leaves. */
export const FINAL_JOB_STATUSES = ['settled', 'refunded', 'failed', 'cancelled'] as const satisfies readonly JobStatus[];
export const isFinalJobStatus = (status: string): boolean => (FINAL_JOB_STATUSES as readonly string[]).includes(status);
// the document's status enum and this list hold the same statuses: this fails to compile when the document gains one
type Unlisted = Exclude<JobStatus, (typeof JOB_STATUSES)[number]>;
type IsTrue<T extends true> = T;
type _EveryStatusListed = IsTrue<[Unlisted] extends [never] ? true : false>;
