import { z } from 'zod';
import { baseConfigSchema, chainConfigSchema, privateKeySchema } from '@starminer/service-kit';
import { RUNWAY_WARNING_MIN_SEC_DEFAULT, RUNWAY_WARNING_RUNTIME_BPS_DEFAULT } from './runway-warnings/runway-threshold';
import { JWKS_TIMEOUT_MS_DEFAULT } from './verify-attestation/attestation-verifiers';
import { NVIDIA_NRAS_ISSUER, NVIDIA_NRAS_JWKS_URL } from './verify-attestation/nvidia-nras';
import { defaultVerifyThreads, VERIFY_QUEUE_MAX_DEFAULT, VERIFY_QUEUE_MAX_LIMIT, VERIFY_THREADS_MAX } from './verify-results/verification-cost';

/**
 * Settlement reads the log and its schema (base), the market's contracts (chain), and signs the
 * release, refund, dispute and slash transactions with the settlement role's key. Results are
 * recomputed on SETTLEMENT_VERIFY_THREADS worker threads (heavy lane; default: the cores less one),
 * with at most SETTLEMENT_VERIFY_QUEUE_MAX results waiting per lane. A job's requester is warned
 * when its escrow's runway drops under the larger of SETTLEMENT_RUNWAY_WARNING_MIN_SEC and
 * SETTLEMENT_RUNWAY_WARNING_RUNTIME_BPS (basis points) of its expected runtime, at most half its
 * window (deadlineSec). A TEE attestation
 * (NVIDIA NRAS tokens) is checked against the keys of ATTESTATION_JWKS_FILE when it is set, else
 * against those published at ATTESTATION_NRAS_JWKS_URL (fetched within ATTESTATION_JWKS_TIMEOUT_MS,
 * cached); its tokens must name ATTESTATION_NRAS_ISSUER.
 */
export const settlementConfigSchema = baseConfigSchema.extend(chainConfigSchema.shape).extend({
  SETTLEMENT_PRIVATE_KEY: privateKeySchema,
  SETTLEMENT_VERIFY_THREADS: z.coerce.number().int().min(1).max(VERIFY_THREADS_MAX).default(() => defaultVerifyThreads()),
  SETTLEMENT_VERIFY_QUEUE_MAX: z.coerce.number().int().min(0).max(VERIFY_QUEUE_MAX_LIMIT).default(VERIFY_QUEUE_MAX_DEFAULT),
  SETTLEMENT_RUNWAY_WARNING_MIN_SEC: z.coerce.number().int().min(1).max(7 * 24 * 3600).default(RUNWAY_WARNING_MIN_SEC_DEFAULT),
  SETTLEMENT_RUNWAY_WARNING_RUNTIME_BPS: z.coerce.number().int().min(0).max(10_000).default(RUNWAY_WARNING_RUNTIME_BPS_DEFAULT),
  ATTESTATION_NRAS_JWKS_URL: z.string().url().default(NVIDIA_NRAS_JWKS_URL),
  ATTESTATION_JWKS_FILE: z.string().min(1).optional(),
  ATTESTATION_NRAS_ISSUER: z.string().min(1).max(256).default(NVIDIA_NRAS_ISSUER),
  ATTESTATION_JWKS_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(JWKS_TIMEOUT_MS_DEFAULT),
});
export type SettlementConfig = z.output<typeof settlementConfigSchema>;
