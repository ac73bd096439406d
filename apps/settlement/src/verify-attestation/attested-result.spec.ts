import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attestationNonceFor } from '@starminer/domain';
import { COMMANDS, LIMITS, type PayloadOf, type TradeEvent } from '@starminer/events';
import { countEvents, eventually, serviceUnderTest, testNras } from '@starminer/service-testing';
import { SettlementModule } from '../settlement.module';
import { balanceOf, eventsOf, openContract, resultOf } from '../testing/settlement-fixture';
import { reportHashOf } from './attestation';
import { NVIDIA_NRAS_FORMAT } from './nvidia-nras';

/**
 * Settlement with TEE attestations, on real NATS and anvil. The NRAS tokens are signed with a key
 * of our own in NRAS's place (service-testing's testNras), whose JWKS settlement is configured with
 * (ATTESTATION_JWKS_FILE): no real token can be had offline.
 */
const nras = testNras();
const under = serviceUnderTest(SettlementModule, { chain: true, env: { ATTESTATION_JWKS_FILE: nras.writeJwks(mkdtempSync(join(tmpdir(), 'starminer-nras-'))) } });

const submit = (p: PayloadOf<typeof COMMANDS.settlement.submitResult>) => under.service.bus.send(COMMANDS.settlement.submitResult, p);
const typesOf = (events: TradeEvent[]) => events.map((e) => e.type);

async function settled(jobId: string, type: 'ContractReleased' | 'ContractRefunded'): Promise<TradeEvent[]> {
  await eventually(async () => (await eventsOf(under.infra, `trade.contract.${jobId}`)).some((e) => e.type === type), 20_000);
  return eventsOf(under.infra, `trade.contract.${jobId}`);
}

describe('cmd.settlement.submitResult with a TEE attestation', () => {
  it("given a job that required a TEE and a report bound to its nonce, then the attestation is verified, recorded on ResultSubmitted (hash and verdict), and the escrow released", async () => {
    const c = await openContract(under.infra, { jobId: 'job-tee-1', tee: true });
    const report = await nras.report(attestationNonceFor(c.jobId));

    await expect(submit({ ...(await resultOf(under.infra, c)), attestation: { format: NVIDIA_NRAS_FORMAT, report } })).resolves.toEqual({ status: 'settling', outcome: 'release' });

    const events = await settled(c.jobId, 'ContractReleased');
    expect(typesOf(events)).toEqual(['ContractOpened', 'ResultSubmitted', 'SettlementDecided', 'ContractReleased']);
    expect(events[1].data).toMatchObject({ attestation: { format: NVIDIA_NRAS_FORMAT, reportHash: reportHashOf(report), verdict: 'verified' } });
    expect(events[2].data).toMatchObject({ outcome: 'release', reason: 'result and proof verified; TEE attestation verified' });
    expect(await balanceOf(under.infra, c.node.address)).toBe(c.escrowWei);
  });

  it("given a job that required a TEE and a report made for another job's nonce, then ATTESTATION_NONCE_MISMATCH: the rejected attestation is recorded and the requester refunded", async () => {
    const c = await openContract(under.infra, { jobId: 'job-tee-2', tee: true });
    const report = await nras.report(attestationNonceFor('job-tee-1'));

    await expect(submit({ ...(await resultOf(under.infra, c)), attestation: { format: NVIDIA_NRAS_FORMAT, report } })).resolves.toEqual({ status: 'settling', outcome: 'refund' });

    const events = await settled(c.jobId, 'ContractRefunded');
    expect(typesOf(events)).toEqual(['ContractOpened', 'ResultSubmitted', 'ResultRejected', 'SettlementDecided', 'ContractRefunded']);
    expect(events[1].data).toMatchObject({ attestation: { format: NVIDIA_NRAS_FORMAT, reportHash: reportHashOf(report), verdict: 'rejected', code: 'ATTESTATION_NONCE_MISMATCH' } });
    expect(events[2].data).toMatchObject({ code: 'ATTESTATION_NONCE_MISMATCH', reason: expect.stringMatching(/^TEE attestation rejected: the overall token's eat_nonce is not the job's nonce/) });
    expect(await balanceOf(under.infra, c.requester.address)).toBe(c.escrowWei);
    expect(await balanceOf(under.infra, c.node.address)).toBe(0n);
  });

  it('given a job that required a TEE and a result without an attestation, then ATTESTATION_MISSING and a refund', async () => {
    const c = await openContract(under.infra, { jobId: 'job-tee-3', tee: true });
    await expect(submit(await resultOf(under.infra, c))).resolves.toEqual({ status: 'settling', outcome: 'refund' });
    const events = await settled(c.jobId, 'ContractRefunded');
    expect(events[1].data).not.toHaveProperty('attestation');
    expect(events[2]).toMatchObject({ type: 'ResultRejected', data: { code: 'ATTESTATION_MISSING' } });
  });

  it('given a job that did not ask for a TEE, then an attestation it carries is recorded, a rejected one included, and never required', async () => {
    const c = await openContract(under.infra, { jobId: 'job-tee-4' });
    await expect(submit({ ...(await resultOf(under.infra, c)), attestation: { format: 'amd-sev-snp', report: 'AAAA' } })).resolves.toEqual({ status: 'settling', outcome: 'release' });
    const events = await settled(c.jobId, 'ContractReleased');
    expect(events[1].data).toMatchObject({ attestation: { format: 'amd-sev-snp', reportHash: reportHashOf('AAAA'), verdict: 'rejected', code: 'ATTESTATION_FORMAT_UNKNOWN' } });
  });

  it('given a report over its limit or a format that is no name, then COMMAND_INVALID and nothing appended', async () => {
    const c = await openContract(under.infra, { jobId: 'job-tee-5', tee: true });
    const p = await resultOf(under.infra, c);
    const before = await countEvents(under.infra.log, 'trade.>');
    await expect(submit({ ...p, attestation: { format: NVIDIA_NRAS_FORMAT, report: 'x'.repeat(LIMITS.attestationReportLengthMax + 1) } })).rejects.toMatchObject({ code: 'COMMAND_INVALID' });
    await expect(submit({ ...p, attestation: { format: 'NVIDIA NRAS', report: 'x' } })).rejects.toMatchObject({ code: 'COMMAND_INVALID' });
    expect(await countEvents(under.infra.log, 'trade.>')).toBe(before);
  });
});
