import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type { FetchLike } from '@starminer/sdk';
import { runCli } from './cli';
import type { Io } from './shared/context';

/**
 * `runCli` as main runs it, in this process: scratch streams and config directory, and a fake
 * gateway behind `io.fetch` that records what was sent. For what the command line does with its
 * flags and with what the gateway answers; test/cli.spec.ts runs the built binary against the market.
 */

const GATEWAY = 'http://gateway.test';
const ESC = '\u001b';
const CSI = '\u009b';

interface Sent {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

type Route = (req: Sent) => Response | undefined;

const json = (body: unknown, status = 200): Response => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const sse = (updates: readonly { seq: string }[]): Response =>
  new Response(updates.map((u) => `id: ${u.seq}\ndata: ${JSON.stringify(u)}\n\n`).join(''), { status: 200, headers: { 'content-type': 'text/event-stream' } });

describe('runCli: flags, secrets and what reaches the terminal', () => {
  let configHome: string;
  beforeEach(() => {
    configHome = mkdtempSync(join(tmpdir(), 'starminer-cli-unit-'));
  });
  afterEach(() => rmSync(configHome, { recursive: true, force: true }));

  async function run(args: readonly string[], opts: { env?: Record<string, string>; stdin?: string; routes?: Route[] } = {}) {
    const sent: Sent[] = [];
    const fetch: FetchLike = async (input, init) => {
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((v, k) => (headers[k] = v));
      const req: Sent = { method: init.method ?? 'GET', url: input, headers, ...(typeof init.body === 'string' ? { body: init.body } : {}) };
      sent.push(req);
      for (const route of opts.routes ?? []) {
        const res = route(req);
        if (res) return res;
      }
      return json({ error: { code: 'NOT_FOUND', message: `no fake route for ${req.method} ${req.url}` } }, 404);
    };
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const io: Io = {
      stdout,
      stderr,
      stdin: Readable.from([opts.stdin ?? '']),
      env: { XDG_CONFIG_HOME: configHome, STARMINER_GATEWAY: GATEWAY, ...opts.env },
      platform: 'linux',
      homedir: configHome,
      signal: new AbortController().signal,
      fetch,
    };
    const code = await runCli(args, io);
    return { code, stdout: out, stderr: err, sent };
  }

  const loggedIn = { STARMINER_API_KEY: 'sm_test' };

  describe('jobs watch --since', () => {
    it('refuses a seq that is not 1-20 digits as a usage error (exit 2), sending nothing', async () => {
      for (const since of ['abc', '', '-1', '1.5', '1'.repeat(21)]) {
        const r = await run(['jobs', 'watch', 'job-1', '--since', since, '--json'], { env: loggedIn });
        expect({ since, code: r.code, sent: r.sent.length }).toEqual({ since, code: 2, sent: 0 });
        expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: 'BAD_FLAG' } });
        expect(r.stderr).toContain('--since');
      }
    });

    it('takes a seq and resumes after it', async () => {
      const update = { jobId: 'job-1', seq: '8', type: 'job.settled', status: 'settled', at: '2026-11-24T12:00:05.000Z', eventId: 'e8' };
      const r = await run(['jobs', 'watch', 'job-1', '--since', '7'], { env: loggedIn, routes: [(q) => (q.url.endsWith('/v1/jobs/job-1/events') ? sse([update]) : undefined)] });
      expect(r.code).toBe(0);
      expect(r.sent[0]?.headers['last-event-id']).toBe('7');
      expect(r.stdout).toContain('job.settled');
    });
  });

  describe('secrets on the command line', () => {
    const account = { orgId: 'org-1', name: 'Acme', accountAddress: '0x00000000000000000000000000000000000000a1', balanceWei: '0' };
    const accountRoute: Route = (q) => (q.url.endsWith('/v1/accounts/me') ? json(account) : undefined);
    const org = { orgId: 'org-1', name: 'Acme', apiKey: 'sm_new', accountAddress: account.accountAddress };
    const orgRoute: Route = (q) => (q.method === 'POST' && q.url.endsWith('/v1/orgs') ? json(org, 201) : undefined);

    it('login --api-key works for scripts but warns that ps and the history see the key', async () => {
      const r = await run(['login', '--api-key', 'sm_secret'], { routes: [accountRoute] });
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/^warning: --api-key puts the key on the command line, where ps shows it/m);
      expect(r.stderr).toContain('STARMINER_API_KEY');
      expect(r.stderr).toContain('stdin');
      expect(r.sent[0]?.headers.authorization).toBe('Bearer sm_secret');
    });

    it('login with the key on stdin says nothing of the kind', async () => {
      const r = await run(['login'], { stdin: 'sm_secret\n', routes: [accountRoute] });
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.sent[0]?.headers.authorization).toBe('Bearer sm_secret');
    });

    it('orgs create --operator-token works but warns, naming STARMINER_OPERATOR_TOKEN', async () => {
      const r = await run(['orgs', 'create', 'Acme', '--operator-token', 'op-secret'], { routes: [orgRoute] });
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/^warning: --operator-token puts the operator token on the command line/m);
      expect(r.stderr).toContain('STARMINER_OPERATOR_TOKEN');
      expect(r.sent[0]?.headers.authorization).toBe('Bearer op-secret');
    });

    it('orgs create takes the token from STARMINER_OPERATOR_TOKEN (the tour), without a warning', async () => {
      const r = await run(['orgs', 'create', 'Acme', '--json'], { env: { STARMINER_OPERATOR_TOKEN: 'op-secret' }, routes: [orgRoute] });
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toEqual(org);
      expect(r.sent).toHaveLength(1);
      expect(r.sent[0]?.headers.authorization).toBe('Bearer op-secret');
      const human = await run(['orgs', 'create', 'Acme'], { env: { STARMINER_OPERATOR_TOKEN: 'op-secret' }, routes: [orgRoute] });
      expect(human.stderr).toBe('');
    });

    it('orgs create without a token says to set the variable, and sends nothing', async () => {
      const r = await run(['orgs', 'create', 'Acme', '--json'], { routes: [orgRoute] });
      expect(r.code).toBe(2);
      expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: 'MISSING_FLAG' } });
      expect(r.stderr).toContain('STARMINER_OPERATOR_TOKEN');
      expect(r.sent).toHaveLength(0);
    });
  });

  describe("the gateway's and the providers' text on a terminal", () => {
    const evil = `done${ESC}[2J${ESC}]0;pwned\u0007\r\nstatus  settled${CSI}31m\u0000`;
    const job = {
      jobId: 'job-1',
      status: 'failed',
      category: 'inference',
      urgency: 'normal',
      budgetWei: '1000000000000000000',
      expectedRuntimeSec: 60,
      nodeId: `node-${ESC}[1m`,
      waitingReason: `no node${ESC}[K`,
      failure: { code: 'EXECUTION_FAILED', reason: `boom${ESC}[31m\nsettled` },
      result: { output: evil, resultHash: null },
      submittedAt: '2026-11-24T12:00:05.000Z',
    };
    const updates = [
      { jobId: 'job-1', seq: '1', type: 'job.queued', status: 'queued', at: '2026-11-24T12:00:05.000Z', eventId: 'e1', waitingReason: `busy${ESC}[H` },
      { jobId: 'job-1', seq: '2', type: 'job.failed', status: 'failed', at: '2026-11-24T12:00:06.000Z', eventId: 'e2', failure: { code: 'EXECUTION_FAILED', reason: `x${CSI}2J\ny` } },
    ];
    const routes: Route[] = [
      (q) => (q.url.endsWith('/v1/jobs/job-1') ? json(job) : undefined),
      (q) => (new URL(q.url).pathname === '/v1/jobs/job-1/history' ? json({ updates, nextCursor: null }) : undefined),
      (q) => (q.url.endsWith('/v1/jobs/job-1/events') ? sse(updates) : undefined),
      (q) => (new URL(q.url).pathname === '/v1/jobs' ? json({ jobs: [job], nextCursor: `c${ESC}[2J` }) : undefined),
    ];
    /** No control character but the newlines between lines. */
    const clean = (text: string): void => {
      // eslint-disable-next-line no-control-regex
      expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    };

    it('jobs get shows output, failure, waiting reason and node escaped, one line each', async () => {
      const r = await run(['jobs', 'get', 'job-1'], { env: loggedIn, routes });
      expect(r.code).toBe(0);
      clean(r.stdout);
      expect(r.stdout).toContain('output     done\\x1b[2J\\x1b]0;pwned\\x07\\r\\nstatus  settled\\x9b31m\\x00');
      expect(r.stdout).toMatch(/^failure +EXECUTION_FAILED: boom\\x1b\[31m\\nsettled$/m);
      expect(r.stdout).toMatch(/^waiting +no node\\x1b\[K$/m);
      // the injected "status  settled" stays inside the output's line
      expect(r.stdout.match(/^status/gm)).toEqual(['status']);
    });

    it('jobs get --json stays the exact answer', async () => {
      const r = await run(['jobs', 'get', 'job-1', '--json'], { env: loggedIn, routes });
      expect(JSON.parse(r.stdout)).toEqual(job);
      clean(r.stdout);
    });

    it('jobs watch and jobs history escape each update; the failure reason in the error too', async () => {
      const watched = await run(['jobs', 'watch', 'job-1'], { env: loggedIn, routes });
      expect(watched.code).toBe(4);
      clean(watched.stdout);
      clean(watched.stderr);
      expect(watched.stdout.trim().split('\n')).toHaveLength(2);
      expect(watched.stdout).toContain('busy\\x1b[H');
      expect(watched.stdout).toContain('EXECUTION_FAILED: x\\x9b2J\\ny');
      expect(watched.stderr).toContain('ended failed: EXECUTION_FAILED: x\\x9b2J\\ny');

      const ndjson = await run(['jobs', 'watch', 'job-1', '--json'], { env: loggedIn, routes });
      expect(ndjson.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual(updates);
      clean(ndjson.stdout);

      const history = await run(['jobs', 'history', 'job-1'], { env: loggedIn, routes });
      expect(history.code).toBe(0);
      clean(history.stdout);
      expect(history.stdout.trim().split('\n')).toHaveLength(3);
    });

    it('jobs list escapes cells and the cursor in the note', async () => {
      const r = await run(['jobs', 'list'], { env: loggedIn, routes });
      expect(r.code).toBe(0);
      clean(r.stdout);
      clean(r.stderr);
      expect(r.stdout).toContain('node-\\x1b[1m');
      expect(r.stderr).toBe('more: starminer jobs list --cursor c\\x1b[2J\n');
    });

    it("a gateway error's message is escaped on stderr", async () => {
      const r = await run(['jobs', 'get', 'job-2'], { env: loggedIn, routes: [() => json({ error: { code: 'JOB_NOT_FOUND', message: `no such job${ESC}[2J\nerror OK` } }, 404)] });
      expect(r.code).toBe(1);
      clean(r.stderr);
      expect(r.stderr).toBe('error JOB_NOT_FOUND (404): no such job\\x1b[2J\\nerror OK\n');
    });
  });

  describe('provider register --benchmark-ms', () => {
    it('is bounded: 1 to 60000 whole ms, else a usage error before any key is made or anything sent', async () => {
      for (const ms of ['0', '-5', '60001', '1e9', '1.5', 'abc']) {
        const r = await run(['provider', 'register', '--chain-id', '31337', '--gpu', 'H100', '--vram', '80', '--region', 'eu-west', '--benchmark-ms', ms, '--json']);
        expect({ ms, code: r.code, sent: r.sent.length }).toEqual({ ms, code: 2, sent: 0 });
        expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: 'BAD_FLAG' } });
        expect(existsSync(join(configHome, 'starminer')) ? readdirSync(join(configHome, 'starminer')) : []).toEqual([]);
      }
    });
  });
});
