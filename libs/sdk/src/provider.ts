/**
 * `@starminer/sdk/provider`: the provider's side of the gateway, for Node 20+. Every request is
 * signed by the node key (a viem LocalAccount; viem is a peer dependency) for one deployment, or,
 * with `sessions: true`, carries a session token from one signed login.
 */
export { attestationNonceFor, createProviderClient, ProviderClient, type ProviderClientOptions } from './provider-client';
export { AliveClock } from './alive-clock';
export {
  NODE_HEADERS,
  NODE_REQUEST_DOMAIN,
  NodeRequestError,
  NonceSequence,
  nodeRequestMessage,
  normalizeOrigin,
  sha256Hex,
  signNodeRequest,
  verifyNodeRequest,
  type NodeDeployment,
  type NodeRequestHeaders,
  type NodeRequestParts,
} from './node-request';
export { StarMinerApiError, StarMinerNetworkError } from './errors';
export type {
  Assignment,
  Assignments,
  EarnedJob,
  EarningsPage,
  HeartbeatAck,
  HeartbeatRequest,
  JobCounts,
  JobStatus,
  MarketAddresses,
  NodeRegistered,
  NodeRegistration,
  NodeSession,
  NodeStatus,
  NodeTelemetry,
  ProviderJobStatus,
  RegisterNodeRequest,
  ResultAccepted,
  ResultSubmission,
  SubmitResultRequest,
  Workload,
  WorkloadSpec,
} from './types';
