import { PassThrough, Readable } from 'node:stream';
import { runCli } from '../cli';
import type { Io } from '../shared/context';
import { auditCheckout, runAuditTool } from './audit.command';

/** `starminer audit ...` as main runs it, with scratch streams: what the audit tool printed, and its exit code. */
async function run(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => (stdout += c.toString()));
  err.on('data', (c: Buffer) => (stderr += c.toString()));
  const io: Io = { stdout: out, stderr: err, stdin: Readable.from([]), env: { PATH: process.env.PATH ?? '', ...env }, platform: process.platform, homedir: '/nonexistent', signal: new AbortController().signal };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

describe('starminer audit: the auditor\'s kit from the command line', () => {
  it('finds the checkout it runs from, and none above the file system root', () => {
    expect(auditCheckout()).toMatch(/\/[^/]+$/);
    expect(auditCheckout('/')).toBeUndefined();
  });

  it("runs the checkout's audit tool with everything after `audit`: its help, its commands", async () => {
    const { code, stdout } = await run(['audit', '--help']);
    expect(code).toBe(0);
    for (const command of ['replay', 'matching', 'chain', 'anchors', 'prove', 'report']) expect(stdout).toContain(command);
  }, 60_000);

  it("answers with the audit tool's exit code and summary line: 3 when the log cannot be read", async () => {
    const { code, stdout } = await run(['audit', 'anchors', '--json', '--nats', 'nats://127.0.0.1:1', '--rpc', 'http://127.0.0.1:1', '--addresses', JSON.stringify({ token: `0x${'1'.repeat(40)}`, escrow: `0x${'2'.repeat(40)}`, anchor: `0x${'3'.repeat(40)}` })]);
    expect(code).toBe(3);
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toMatchObject({ audit: 'anchors', ok: false, exitCode: 3 });
  }, 60_000);

  it('is a command of the CLI (listed in its help): after a global flag too, what follows `audit` goes to the tool', async () => {
    const { code, stdout } = await run(['--json', 'audit', 'replay', '--nats', 'nats://127.0.0.1:1', '--json']);
    expect(code).toBe(3);
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toMatchObject({ audit: 'replay', ok: false });
  }, 60_000);

  it('says where to run it when the CLI is not in a checkout (a usage error: nothing was read)', async () => {
    const io = { stdout: new PassThrough(), stderr: new PassThrough(), env: {}, signal: new AbortController().signal } as unknown as Io;
    await expect(runAuditTool(['replay'], io, '/')).rejects.toMatchObject({ code: 'AUDIT_NEEDS_CHECKOUT' });
  });
});
