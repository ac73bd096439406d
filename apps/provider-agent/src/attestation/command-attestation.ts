import { execFile } from 'node:child_process';
import { attestationNonceFor } from '@starminer/domain';
import { LIMITS } from '@starminer/events';

/** A TEE's attestation report for one job, as the agent submits it with the result. */
export interface AttestationEvidence {
  readonly format: string;
  readonly report: string;
}

/** Fetches a report bound to the job's nonce (attestationNonceFor(jobId)). */
export type Attest = (jobId: string) => Promise<AttestationEvidence>;

export class AttestationSourceError extends Error {
  override readonly name = 'AttestationSourceError';
  readonly code = 'ATTESTATION_SOURCE_FAILED';
}

export interface CommandAttestationOptions {
  /** The executable (a path, or a name on PATH): e.g. a script around NVIDIA's attestation SDK that asks NRAS for a token. */
  readonly command: string;
  /** The format of what it prints (settlement's verifier for it), e.g. `nvidia-nras-eat`. */
  readonly format: string;
  /** How long one run may take before it is killed. */
  readonly timeoutMs: number;
}

/**
 * The operator's attestation source: `command <nonce>` (the job's nonce, 64 hex characters, also
 * in STARMINER_ATTESTATION_NONCE, with the job in STARMINER_JOB_ID) prints the report on stdout.
 * It runs without a shell, killed after `timeoutMs`, its output bounded by the catalogue's
 * LIMITS.attestationReportLengthMax; a failure, an empty or an oversized report is an
 * AttestationSourceError that names the command.
 */
export function commandAttestation(o: CommandAttestationOptions): Attest {
  return (jobId) => {
    const nonceHex = attestationNonceFor(jobId);
    return new Promise((resolve, reject) => {
      execFile(
        o.command,
        [nonceHex],
        {
          timeout: o.timeoutMs,
          killSignal: 'SIGKILL',
          // the report and a trailing newline; more is refused (the child is killed)
          maxBuffer: LIMITS.attestationReportLengthMax + 2,
          encoding: 'utf8',
          env: { ...process.env, STARMINER_ATTESTATION_NONCE: nonceHex, STARMINER_JOB_ID: jobId },
          windowsHide: true,
        },
        (err, stdout, stderr) => {
          if (err) {
            const { killed, code, signal } = err as { killed?: boolean; code?: unknown; signal?: unknown };
            const why =
              typeof code === 'number' ? `exited with code ${code}` : killed && !code ? `timed out after ${o.timeoutMs} ms` : signal ? `killed by ${String(signal)}` : (err.message.split('\n')[0] ?? err.message);
            const tail = stderr.trim().slice(-500);
            return reject(new AttestationSourceError(`attestation command ${o.command} failed: ${why}${tail ? ` (stderr: ${tail})` : ''}`, { cause: err }));
          }
          const report = stdout.trim();
          if (report.length === 0) return reject(new AttestationSourceError(`attestation command ${o.command} printed no report`));
          if (report.length > LIMITS.attestationReportLengthMax)
            return reject(new AttestationSourceError(`attestation command ${o.command} printed ${report.length} characters, over ${LIMITS.attestationReportLengthMax}`));
          resolve({ format: o.format, report });
        },
      );
    });
  };
}
