import { join } from 'node:path';
import { createClient, type FetchLike } from '@starminer/sdk';
import { CONFIG_FILE_NAME, ENV, configDir, readConfig, resolveSettings, writeConfig, type CliConfig, type Settings } from './config-file';
import { UsageError } from './errors';
import { printable, printableLines, toJson } from './output';
import { startProgress, type Progress } from './progress';

/** The CLI's one dependency on how the SDK names its client type: whatever createClient returns. */
export type Client = ReturnType<typeof createClient>;

/** The CLI's version (apps/cli/package.json), and how it names itself to the gateway. */
export const VERSION = '0.1.0';
export const USER_AGENT = `starminer-cli/${VERSION}`;

/** The process around the CLI: its streams, environment and home; tests and main pass the real or a scratch one. */
export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  env: Readonly<Record<string, string | undefined>>;
  platform: string;
  homedir: string;
  /** aborted on Ctrl-C: every SDK call and wait takes it */
  signal: AbortSignal;
  /** the network (default: the platform's fetch); tests pass a fake gateway */
  fetch?: FetchLike;
}

/** The options every command takes. */
export interface GlobalArgs {
  gateway?: string;
  json?: boolean;
}

/** One command's view of the world: output in the mode asked for, the config, the client. */
export class Ctx {
  readonly json: boolean;
  readonly configPath: string;
  private cached?: CliConfig;
  private requests = 0;

  /**
   * The fetch every client of this command uses: the platform's (or the test's), counting what it
   * sends, so an error can tell whether anything left the machine (exit 2 promises nothing did).
   */
  readonly fetch: FetchLike = (input, init) => {
    this.requests += 1;
    return (this.io.fetch ?? globalThis.fetch)(input, init);
  };

  constructor(
    readonly io: Io,
    private readonly args: GlobalArgs,
  ) {
    this.json = args.json === true;
    this.configPath = join(configDir(io.env, io.platform, io.homedir), CONFIG_FILE_NAME);
  }

  get signal(): AbortSignal {
    return this.io.signal;
  }

  /** Whether this command has sent a request to the gateway yet. */
  get sentRequest(): boolean {
    return this.requests > 0;
  }

  config(): CliConfig {
    return (this.cached ??= readConfig(this.configPath));
  }

  saveConfig(config: CliConfig): void {
    writeConfig(this.configPath, config);
    this.cached = config;
  }

  settings(): Settings {
    return resolveSettings({ gatewayFlag: this.args.gateway, env: this.io.env, config: this.config() });
  }

  /** A requester client of the gateway; `needsKey` refuses early, before any request, when there is no key. */
  client(opts: { needsKey: boolean; apiKey?: string } = { needsKey: true }): Client {
    const s = this.settings();
    const apiKey = opts.apiKey ?? s.apiKey;
    if (opts.needsKey && !apiKey) throw new UsageError('NOT_LOGGED_IN', `no API key: run \`starminer login\` or set ${ENV.apiKey}`);
    return createClient({ baseUrl: s.gateway, ...(apiKey ? { apiKey } : {}), userAgent: USER_AGENT, fetch: this.fetch });
  }

  /** Prints the answer: its JSON with `--json`, else what `human` makes of it. */
  print<T>(value: T, human: (v: T) => string): void {
    this.out(this.json ? toJson(value) : human(value));
  }

  /** A line (or lines) on stdout; for people (not --json), any control character the text still holds is escaped. */
  out(text: string): void {
    if (text.length === 0) return;
    const shown = this.json ? text : printableLines(text);
    this.io.stdout.write(shown.endsWith('\n') ? shown : `${shown}\n`);
  }

  /** A note for people on stderr; `--json` keeps stderr for errors only. */
  note(text: string): void {
    if (!this.json) this.io.stderr.write(`${printableLines(text)}\n`);
  }

  /** `more: <command> --cursor C`: the gateway's cursor, escaped for the terminal. */
  moreNote(command: string, cursor: string): void {
    this.note(`more: ${command} --cursor ${printable(cursor)}`);
  }

  progress(text: string): Progress {
    return startProgress({ stderr: this.io.stderr, json: this.json }, text);
  }
}
