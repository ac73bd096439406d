/**
 * `npm run audit -- <command> [options]`: the auditor's read-only tools over the trade log, the
 * chain and the services' read models (tools/audit/audit.ts lists the commands; --help shows them).
 */
import { runAudit } from './audit';

runAudit(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`audit failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(3);
  },
);
