import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from './errors';

/**
 * The CLI's configuration: where the gateway is and the org's API key (from `starminer login`),
 * and the provider's node (from `starminer provider register`). One JSON file in the user's config
 * directory, readable by its owner only: it holds a key that spends the org's tokens.
 */
export interface CliConfig {
  gateway?: string;
  apiKey?: string;
  provider?: ProviderConfig;
}

export interface ProviderConfig {
  /** the node's private key file (0x + 64 hex) */
  keyFile?: string;
  nodeId?: string;
  /** the market's chain: node requests are signed for it */
  chainId?: number;
}

export const CONFIG_FILE_NAME = 'config.json';
/** Owner read/write only: the file holds an API key. */
export const CONFIG_FILE_MODE = 0o600;
export const CONFIG_DIR_MODE = 0o700;
/** Where `starminer` looks when neither a flag, the environment nor the config file names a gateway: `npm start`'s. */
export const GATEWAY_DEFAULT = 'http://127.0.0.1:8080';

export const ENV = {
  gateway: 'STARMINER_GATEWAY',
  apiKey: 'STARMINER_API_KEY',
  operatorToken: 'STARMINER_OPERATOR_TOKEN',
  chainId: 'STARMINER_CHAIN_ID',
} as const;

type Env = Readonly<Record<string, string | undefined>>;

/** `$XDG_CONFIG_HOME/starminer`, else `%APPDATA%\starminer` on Windows, else `~/.config/starminer`. */
export function configDir(env: Env, platform: string, homedir: string): string {
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, 'starminer');
  if (platform === 'win32') return join(env.APPDATA || join(homedir, 'AppData', 'Roaming'), 'starminer');
  return join(homedir, '.config', 'starminer');
}

/** The config file, or an empty config when there is none yet; a file we cannot read as ours is a usage error naming it. */
export function readConfig(path: string): CliConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UsageError('CONFIG_UNREADABLE', `cannot read ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError('CONFIG_INVALID', `${path} is not JSON: fix it or remove it and run \`starminer login\` again`);
  }
  const problem = configProblem(parsed);
  if (problem) throw new UsageError('CONFIG_INVALID', `${path}: ${problem}: fix it or remove it and run \`starminer login\` again`);
  return parsed as CliConfig;
}

function configProblem(v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  const c = v as Record<string, unknown>;
  for (const k of ['gateway', 'apiKey'] as const) if (c[k] !== undefined && typeof c[k] !== 'string') return `${k} is not a string`;
  if (c.provider !== undefined) {
    const p = c.provider as Record<string, unknown>;
    if (typeof p !== 'object' || p === null || Array.isArray(p)) return 'provider is not an object';
    for (const k of ['keyFile', 'nodeId'] as const) if (p[k] !== undefined && typeof p[k] !== 'string') return `provider.${k} is not a string`;
    if (p.chainId !== undefined && !(Number.isSafeInteger(p.chainId) && (p.chainId as number) > 0)) return 'provider.chainId is not a positive integer';
  }
  return null;
}

/**
 * Writes the config readable by its owner only: a temporary file created 0600 beside it, then
 * renamed over it, so a crash leaves the old file or the new one, never half of one, and the key
 * is never in a file others may read (not even for a moment: the mode is set at creation).
 */
export function writeConfig(path: string, config: CliConfig): void {
  mkdirSync(dirname(path), { recursive: true, mode: CONFIG_DIR_MODE });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: CONFIG_FILE_MODE });
  chmodSync(tmp, CONFIG_FILE_MODE); // the umask may have cleared bits of the mode asked for
  renameSync(tmp, path);
}

export type Source = 'flag' | 'env' | 'config' | 'default';

export interface Settings {
  gateway: string;
  gatewayFrom: Source;
  apiKey?: string;
  apiKeyFrom?: Exclude<Source, 'default' | 'flag'>;
}

/** Where the gateway and the key come from: a flag, else the environment, else the config file, else the default. */
export function resolveSettings(input: { gatewayFlag?: string; env: Env; config: CliConfig }): Settings {
  const { gatewayFlag, env, config } = input;
  const [gateway, gatewayFrom]: [string, Source] = gatewayFlag
    ? [gatewayFlag, 'flag']
    : env[ENV.gateway]
      ? [env[ENV.gateway]!, 'env']
      : config.gateway
        ? [config.gateway, 'config']
        : [GATEWAY_DEFAULT, 'default'];
  const key = env[ENV.apiKey] ? { apiKey: env[ENV.apiKey]!, apiKeyFrom: 'env' as const } : config.apiKey ? { apiKey: config.apiKey, apiKeyFrom: 'config' as const } : {};
  return { gateway: checkGatewayUrl(gateway, gatewayFrom), gatewayFrom, ...key };
}

/** A gateway URL is http or https; given back without a trailing slash. */
export function checkGatewayUrl(url: string, from: Source): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError('BAD_GATEWAY_URL', `the gateway URL ${JSON.stringify(url)} (from ${from}) is not a URL, e.g. http://127.0.0.1:8080`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError('BAD_GATEWAY_URL', `the gateway URL ${url} (from ${from}) must be http or https`);
  return url.replace(/\/+$/, '');
}
