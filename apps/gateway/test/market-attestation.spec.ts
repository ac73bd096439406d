import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agpuBalance } from '@starminer/chain';
import { attestationNonceFor } from '@starminer/domain';
import { createClient, type StarMinerClient } from '@starminer/sdk';
import { NRAS_FORMAT as NVIDIA_NRAS_FORMAT, testNras } from '@starminer/service-testing';
import { jobRequest, OPERATOR_TOKEN, startMarket, type Market } from './market-harness';

const AGPU = 10n ** 18n;
/** What settlement records of a report: its sha256. */
const reportHashOf = (report: string) => `0x${createHash('sha256').update(report).digest('hex')}`;

/**
 * TEE jobs through the whole market: a TEE node's agent fetches its attestation for the job's nonce
 * and submits it with the result; settlement verifies it and records the report's hash and the
 * verdict on the job. The NRAS tokens are signed with a key of our own in NRAS's place
 * (service-testing's testNras), and settlement is configured with that
 * key's JWKS (ATTESTATION_JWKS_FILE): a real token needs a GPU in confidential-computing mode and
 * NVIDIA's service.
 */
describe('TEE attestation, end to end', () => {
  const nras = testNras();
  let market: Market;
  let requester: StarMinerClient;
  let accountAddress: `0x${string}`;

  beforeAll(async () => {
    market = await startMarket({ env: { ATTESTATION_JWKS_FILE: nras.writeJwks(mkdtempSync(join(tmpdir(), 'starminer-nras-'))) } });
    const org = await createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch }).createOrg({ operatorToken: OPERATOR_TOKEN, name: 'Enclave Inc' });
    accountAddress = org.accountAddress as `0x${string}`;
    requester = createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch, apiKey: org.apiKey });
    await requester.faucet({ amountWei: 200n * AGPU });
  }, 120_000);

  afterAll(async () => {
    await market?.stop();
  });

  afterEach(() => {
    expect(market.api.take()).toEqual([]);
  });

  it("given a job that requires a TEE and a TEE node whose report is bound to the job's nonce, then the job settles, paying the node, and shows the verified attestation", async () => {
    const reports = new Map<string, string>();
    const agent = await market.startAgent({
      name: 'tee-honest',
      gpuModel: 'H100',
      vramGiB: 80,
      region: 'eu-west',
      tee: true,
      attest: async (jobId) => {
        const report = await nras.report(attestationNonceFor(jobId));
        reports.set(jobId, report);
        return { format: NVIDIA_NRAS_FORMAT, report };
      },
    });
    const before = await agpuBalance(market.chain.publicClient, { token: market.addresses.token, account: agent.account.address });

    const { jobId } = await requester.submitJob({ job: jobRequest({ requirements: { gpuModels: ['H100'], tee: true } }) as never });
    const done = await requester.waitForJob({ jobId, statuses: ['settled', 'refunded', 'failed'], timeoutMs: 60_000 });

    expect(done).toMatchObject({ status: 'settled', nodeId: agent.nodeId, failure: null });
    expect(done.attestation).toEqual({ format: NVIDIA_NRAS_FORMAT, reportHash: reportHashOf(reports.get(jobId)!), verdict: 'verified' });
    expect(await agpuBalance(market.chain.publicClient, { token: market.addresses.token, account: agent.account.address })).toBe(before + BigInt(done.costWei!));
    await agent.stop();
  }, 120_000);

  it("given a TEE node whose report carries another job's nonce, then the job is refunded with ATTESTATION_NONCE_MISMATCH and shows the rejected attestation", async () => {
    const agent = await market.startAgent({
      name: 'tee-replayer',
      gpuModel: 'A100',
      vramGiB: 80,
      region: 'eu-west',
      tee: true,
      // a report made once, for another job, replayed for every job
      attest: async () => ({ format: NVIDIA_NRAS_FORMAT, report: await nras.report(attestationNonceFor('some-earlier-job')) }),
    });
    const requesterBefore = await agpuBalance(market.chain.publicClient, { token: market.addresses.token, account: accountAddress });

    const { jobId } = await requester.submitJob({ job: jobRequest({ requirements: { gpuModels: ['A100'], tee: true } }) as never });
    const done = await requester.waitForJob({ jobId, statuses: ['settled', 'refunded', 'failed'], timeoutMs: 60_000 });

    expect(done).toMatchObject({ status: 'refunded', nodeId: agent.nodeId, failure: { code: 'ATTESTATION_NONCE_MISMATCH' } });
    expect(done.attestation).toMatchObject({ format: NVIDIA_NRAS_FORMAT, verdict: 'rejected', code: 'ATTESTATION_NONCE_MISMATCH', reason: expect.stringMatching(/eat_nonce is not the job's nonce/) });
    // the escrow came back whole: the requester paid nothing for this job
    expect(await agpuBalance(market.chain.publicClient, { token: market.addresses.token, account: accountAddress })).toBe(requesterBefore);
    await agent.stop();
  }, 120_000);
});
