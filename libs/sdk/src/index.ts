export {
  NODE_REQUEST_DOMAIN,
  NODE_HEADERS,
  NodeRequestError,
  NonceSequence,
  nodeRequestMessage,
  normalizeOrigin,
  signNodeRequest,
  verifyNodeRequest,
  sha256Hex,
  type NodeRequestHeaders,
  type NodeRequestParts,
  type NodeDeployment,
} from './node-request';
export { StarMinerApiError, StarMinerNetworkError, callJson, REQUEST_TIMEOUT_MS_DEFAULT, type FetchLike, type HttpCall, type HttpResponse } from './http';
export { StarMinerClient, JobWaitError, WAIT_POLL_INTERVAL_MS, WAIT_TIMEOUT_MS_MAX, type StarMinerClientOptions } from './client';
export { ProviderClient, type ProviderClientOptions } from './provider-client';
export * from './types';
