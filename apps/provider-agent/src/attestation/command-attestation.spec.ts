import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attestationNonceFor } from '@starminer/domain';
import { LIMITS } from '@starminer/events';
import { attestationNonceFor as sdkNonceFor } from '@starminer/sdk/provider';
import { AttestationSourceError, commandAttestation } from './command-attestation';

/** Attestation commands as an operator would install them: executables that print a report for the nonce they are given. */
const dir = mkdtempSync(join(tmpdir(), 'starminer-attest-'));
function script(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `#!${process.execPath}\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

const source = (command: string, timeoutMs = 5_000) => commandAttestation({ command, format: 'nvidia-nras-eat', timeoutMs });

describe('the job nonce', () => {
  it("is the same in the SDK (for third-party agents, browser-safe) as the one settlement checks", () => {
    expect(sdkNonceFor('job-42')).toBe(attestationNonceFor('job-42'));
  });
});

describe('commandAttestation', () => {
  it("runs the command with the job's nonce (argument and environment) and submits what it prints as the report", async () => {
    const echo = script('echo-nonce.js', "process.stdout.write(JSON.stringify({ arg: process.argv[2], env: process.env.STARMINER_ATTESTATION_NONCE, job: process.env.STARMINER_JOB_ID }) + '\\n');");
    const evidence = await source(echo)('job-42');
    expect(evidence.format).toBe('nvidia-nras-eat');
    expect(JSON.parse(evidence.report)).toEqual({ arg: attestationNonceFor('job-42'), env: attestationNonceFor('job-42'), job: 'job-42' });
  });

  it.each([
    ['a command that fails', script('fail.js', "process.stderr.write('no CC mode on this GPU'); process.exit(3);"), /failed: .*no CC mode on this GPU/],
    ['a command that prints nothing', script('silent.js', ''), /printed no report/],
    ['a command that prints more than the limit', script('flood.js', `process.stdout.write('x'.repeat(${LIMITS.attestationReportLengthMax + 10}));`), /failed: .*maxBuffer|over/],
    ['a command that is not there', join(dir, 'missing'), /failed: .*ENOENT/],
  ])('given %s, then AttestationSourceError naming the command', async (_what, command, message) => {
    const err = await source(command)('job-1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AttestationSourceError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(command);
  });

  it('given a command that hangs, then it is killed at the timeout', async () => {
    const hang = script('hang.js', 'setInterval(() => undefined, 1000);');
    const t0 = Date.now();
    await expect(source(hang, 300)('job-1')).rejects.toThrow(/timed out after 300 ms/);
    expect(Date.now() - t0).toBeLessThan(3_000);
  });
});
