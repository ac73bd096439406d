import { encodeEvent, makeEvent, type EventData } from '@starminer/events';
import { attestationNonceFor, verificationWithAttestation, type AttestationRecord } from './attestation';
import { contractDecider, type ContractCommand } from './contract';
import { draft } from './decider';
import { specFor } from './spec-kit';

const given = specFor(contractDecider);

const JOB_ID = 'job-tee-1';
const NODE_ID = 'node-1';
const NODE_ADDRESS = '0xaAaAaAaaAaAaAaaAaAAAAAAAAaaaAaAaAaaAaaAa';
const DEADLINE_UNIX_SEC = 1_700_003_600;
const REPORT_HASH = `0x${'5e'.repeat(32)}`;

const opened = draft('ContractOpened', {
  jobId: JOB_ID,
  chainJobId: `0x${'0f'.repeat(32)}`,
  contractAddress: '0xcccccccccccccccccccccccccccccccccccccccc',
  requesterAddress: '0x1111111111111111111111111111111111111111',
  nodeAddress: NODE_ADDRESS,
  escrowWei: 4n * 10n ** 18n,
  deadlineUnixSec: DEADLINE_UNIX_SEC,
  termsHash: `0x${'0e'.repeat(32)}`,
  txHash: `0x${'ab'.repeat(32)}`,
  blockNumber: '42',
});

const verified: AttestationRecord = { format: 'nvidia-nras-eat', reportHash: REPORT_HASH, verdict: 'verified' };
const rejected: AttestationRecord = { format: 'nvidia-nras-eat', reportHash: REPORT_HASH, verdict: 'rejected', code: 'ATTESTATION_NONCE_MISMATCH', reason: "the overall token's eat_nonce is not the job's nonce" };

const submit = (o: { teeRequired: boolean; attestation?: AttestationRecord; verification?: Extract<ContractCommand, { type: 'SubmitResult' }>['verification'] }): ContractCommand => ({
  type: 'SubmitResult',
  nodeId: NODE_ID,
  signerAddress: NODE_ADDRESS,
  resultHash: `0x${'01'.repeat(32)}`,
  proofHash: `0x${'02'.repeat(32)}`,
  signature: `0x${'03'.repeat(65)}`,
  output: 'deadbeef',
  verification: o.verification ?? { ok: true },
  nowUnixSec: DEADLINE_UNIX_SEC - 60,
  teeRequired: o.teeRequired,
  ...(o.attestation ? { attestation: o.attestation } : {}),
});

const resultSubmitted = (attestation?: AttestationRecord) =>
  draft('ResultSubmitted', {
    jobId: JOB_ID,
    nodeId: NODE_ID,
    resultHash: `0x${'01'.repeat(32)}`,
    proofHash: `0x${'02'.repeat(32)}`,
    signature: `0x${'03'.repeat(65)}`,
    output: 'deadbeef',
    ...(attestation ? { attestation } : {}),
  });
const release = (reason: string) => draft('SettlementDecided', { jobId: JOB_ID, outcome: 'release', reason });
const refundFor = (code: string, reason: string) => [
  draft('ResultRejected', { jobId: JOB_ID, code, reason }),
  draft('SettlementDecided', { jobId: JOB_ID, outcome: 'refund', reason: `result rejected: ${reason}` }),
];

describe('a TEE attestation with a result (the contract decider)', () => {
  it('given a job that required a TEE, when the result comes with a verified attestation, then it is recorded and released', () => {
    given([opened]).when(submit({ teeRequired: true, attestation: verified })).then([resultSubmitted(verified), release('result and proof verified; TEE attestation verified')]);
  });

  it('given a job that required a TEE, when the result comes without an attestation, then ATTESTATION_MISSING and a refund', () => {
    given([opened])
      .when(submit({ teeRequired: true }))
      .then([resultSubmitted(), ...refundFor('ATTESTATION_MISSING', 'the job requires a TEE and no attestation came with the result')]);
  });

  it("given a job that required a TEE, when the attestation was rejected, then the verifier's code and reason, and a refund; the rejected attestation is recorded", () => {
    given([opened])
      .when(submit({ teeRequired: true, attestation: rejected }))
      .then([resultSubmitted(rejected), ...refundFor('ATTESTATION_NONCE_MISMATCH', "TEE attestation rejected: the overall token's eat_nonce is not the job's nonce")]);
  });

  it('given a job that did not ask for a TEE, when its result carries an attestation, verified or rejected, then it is recorded and the result released', () => {
    given([opened]).when(submit({ teeRequired: false, attestation: verified })).then([resultSubmitted(verified), release('result and proof verified; TEE attestation verified')]);
    given([opened]).when(submit({ teeRequired: false, attestation: rejected })).then([resultSubmitted(rejected), release('result and proof verified')]);
  });

  it('given a wrong result with a verified attestation, then it is refused for being wrong', () => {
    given([opened])
      .when(submit({ teeRequired: true, attestation: verified, verification: { ok: false, code: 'RESULT_WRONG', reason: 'recomputed result differs' } }))
      .then([resultSubmitted(verified), ...refundFor('RESULT_WRONG', 'recomputed result differs')]);
  });

  it('produces events that fit the catalogue, a rejection reason of the longest length included', () => {
    const long: AttestationRecord = { ...rejected, reason: 'x'.repeat(1000) };
    const events = given([opened]).when(submit({ teeRequired: true, attestation: long })).events();
    for (const e of events) {
      // what the trade log does on append: validate the data against the catalogue
      const meta = { id: 'e1', aggregateId: JOB_ID, occurredAt: '2026-01-01T00:00:00.000Z', correlationId: JOB_ID, causationId: JOB_ID, actor: 'test' };
      expect(() => encodeEvent(makeEvent(e.type, e.data as EventData<typeof e.type>, meta))).not.toThrow();
    }
  });
});

describe('verificationWithAttestation', () => {
  it('leaves a result without a TEE requirement as its recompute found it', () => {
    expect(verificationWithAttestation({ teeRequired: false, attestation: undefined, verification: { ok: true } })).toEqual({ ok: true });
  });

  it('names a rejection without a code ATTESTATION_REJECTED', () => {
    expect(verificationWithAttestation({ teeRequired: true, attestation: { ...verified, verdict: 'rejected' }, verification: { ok: true } })).toEqual({
      ok: false,
      code: 'ATTESTATION_REJECTED',
      reason: 'TEE attestation rejected: no reason given',
    });
  });
});

describe('attestationNonceFor', () => {
  it('is 32 bytes of hex, one per job', () => {
    expect(attestationNonceFor('job-a')).toMatch(/^[0-9a-f]{64}$/);
    expect(attestationNonceFor('job-a')).toBe(attestationNonceFor('job-a'));
    expect(attestationNonceFor('job-a')).not.toBe(attestationNonceFor('job-b'));
  });
});
