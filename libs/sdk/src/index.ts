/**
 * `@starminer/sdk`: the requester's client of the StarMiner gateway. Browser-safe (fetch,
 * AbortSignal, WebCrypto, TextEncoder; no Node built-ins). The provider's side, which signs with a
 * node key, is the entry `@starminer/sdk/provider`.
 */
export { createClient, StarMinerClient, type CallOptions, type ClientOptions, type JobInput, type PageParams, type VaultInput } from './client';
export { AgpuFormatError, JobWaitError, StarMinerApiError, StarMinerNetworkError } from './errors';
export { AGPU_DECIMALS, formatAgpu, parseAgpu } from './agpu';
export { verifyWebhookSignature, WEBHOOK_HEADERS, type VerifyWebhookSignatureParams } from './webhooks';
export { signVaultTrigger, VAULT_TRIGGER_SIGNATURE_HEADER } from './vaults';
export { parseRetryAfter, type FetchLike, type RetryOptions, type Sleep } from './http';
export { newIdempotencyKey } from './ids';
export { SDK_LIMITS } from './limits';
export { SDK_VERSION } from './version';
export type { WatchJobParams } from './watch';
export * from './types';
export type { components, operations, paths } from './generated/openapi';
