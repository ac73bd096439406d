import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attestationNonceFor } from '@starminer/domain';
import { NRAS_FORMAT, testNras } from '@starminer/service-testing';
import { AttestationUnavailableError } from './attestation';
import { AttestationConfigError, attestationRecordOf, attestationVerifiersFrom } from './attestation-verifiers';
import { NVIDIA_NRAS_FORMAT, NVIDIA_NRAS_ISSUER } from './nvidia-nras';

/** NRAS's keys served by a local HTTP server in NRAS's place, signed tokens from our own key (service-testing's testNras). */
const nras = testNras();
const nonceHex = attestationNonceFor('job-jwks-1');
const expectation = () => ({ nonceHex, nowSec: Math.floor(Date.now() / 1000) });
const settings = (over: Record<string, unknown> = {}) => ({ ATTESTATION_NRAS_JWKS_URL: 'http://127.0.0.1:9/jwks.json', ATTESTATION_NRAS_ISSUER: NVIDIA_NRAS_ISSUER, ATTESTATION_JWKS_TIMEOUT_MS: 5_000, ...over });

let server: Server;
let url: string;
let fetches = 0;
let hang = false;

beforeAll(async () => {
  server = createServer((_req, res) => {
    fetches += 1;
    if (hang) return; // never answers: the fetch must be cut by its timeout
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(nras.jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('attestationVerifiersFrom', () => {
  it("takes the test issuer's tokens for NRAS's: the same format and issuer as the verifier's", () => {
    expect(NRAS_FORMAT).toBe(NVIDIA_NRAS_FORMAT);
  });

  it("given NRAS's published keys (a URL), then reports are verified against them, and the keys are fetched once for many reports", async () => {
    hang = false;
    fetches = 0;
    const verifiers = attestationVerifiersFrom(settings({ ATTESTATION_NRAS_JWKS_URL: url }));
    for (let i = 0; i < 3; i += 1) {
      const verdict = await verifiers.verify({ format: NVIDIA_NRAS_FORMAT, report: await nras.report(nonceHex) }, expectation());
      expect(verdict).toMatchObject({ verdict: 'verified', devices: [{ id: 'GPU-0' }] });
    }
    expect(fetches).toBe(1);
  });

  it('given keys that do not come within ATTESTATION_JWKS_TIMEOUT_MS, then AttestationUnavailableError: nothing is decided', async () => {
    hang = true;
    const verifiers = attestationVerifiersFrom(settings({ ATTESTATION_NRAS_JWKS_URL: url, ATTESTATION_JWKS_TIMEOUT_MS: 200 }));
    const t0 = Date.now();
    await expect(verifiers.verify({ format: NVIDIA_NRAS_FORMAT, report: await nras.report(nonceHex) }, expectation())).rejects.toBeInstanceOf(AttestationUnavailableError);
    expect(Date.now() - t0).toBeLessThan(3_000);
    hang = false;
  });

  it('given a JWKS file, then it is used instead of the URL; a token of another issuer than ATTESTATION_NRAS_ISSUER is rejected', async () => {
    const file = nras.writeJwks(mkdtempSync(join(tmpdir(), 'starminer-jwks-')));
    const report = await nras.report(nonceHex);
    await expect(attestationVerifiersFrom(settings({ ATTESTATION_JWKS_FILE: file })).verify({ format: NVIDIA_NRAS_FORMAT, report }, expectation())).resolves.toMatchObject({ verdict: 'verified' });
    const otherIssuer = attestationVerifiersFrom(settings({ ATTESTATION_JWKS_FILE: file, ATTESTATION_NRAS_ISSUER: 'https://nras.example' }));
    await expect(otherIssuer.verify({ format: NVIDIA_NRAS_FORMAT, report }, expectation())).resolves.toMatchObject({ verdict: 'rejected', code: 'ATTESTATION_MALFORMED' });
  });

  it('given a JWKS file that is not a key set, then it stops at boot naming ATTESTATION_JWKS_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'starminer-jwks-'));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ keys: [] }));
    expect(() => attestationVerifiersFrom(settings({ ATTESTATION_JWKS_FILE: join(dir, 'bad.json') }))).toThrow(AttestationConfigError);
    expect(() => attestationVerifiersFrom(settings({ ATTESTATION_JWKS_FILE: join(dir, 'missing.json') }))).toThrow(/ATTESTATION_JWKS_FILE/);
  });
});

describe('attestationRecordOf', () => {
  it('records a verdict as ResultSubmitted holds it: the devices stay out, a rejection keeps its code and reason', () => {
    const reportHash = `0x${'ab'.repeat(32)}` as const;
    expect(attestationRecordOf({ verdict: 'verified', format: NVIDIA_NRAS_FORMAT, reportHash, devices: [{ id: 'GPU-0' }] })).toEqual({ format: NVIDIA_NRAS_FORMAT, reportHash, verdict: 'verified' });
    expect(attestationRecordOf({ verdict: 'rejected', format: NVIDIA_NRAS_FORMAT, reportHash, code: 'ATTESTATION_EXPIRED', reason: 'x'.repeat(2000) })).toMatchObject({ code: 'ATTESTATION_EXPIRED', reason: expect.stringMatching(/^x{999}…$/) });
  });
});
