import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { CONFIG_DIR_MODE } from '../shared/config-file';
import { UsageError } from '../shared/errors';

/** The file `provider register` creates in the config directory when no `--key-file` is given. */
export const NODE_KEY_FILE_NAME = 'node.key';
/** Owner read/write only: the key signs results that release escrowed tokens. */
export const NODE_KEY_FILE_MODE = 0o600;
const KEY_PATTERN = /^0x[0-9a-fA-F]{64}$/;

export const defaultNodeKeyFile = (configDir: string): string => join(configDir, NODE_KEY_FILE_NAME);

/** The node's id follows from its key, as the provider agent names it, so the agent started on the same key is the same node. */
export const nodeIdFor = (address: string): string => `node-${address.slice(2).toLowerCase()}`;

/** The node key in `file` (0x + 64 hex, as the provider agent writes it). */
export function readNodeKey(file: string): LocalAccount {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new UsageError('NODE_KEY_UNREADABLE', `cannot read the node key ${file}: ${(err as Error).message}`);
  }
  if (!KEY_PATTERN.test(text)) throw new UsageError('NODE_KEY_INVALID', `${file} does not hold a 0x-prefixed 32-byte private key`);
  return privateKeyToAccount(text as `0x${string}`);
}

/**
 * The key in `file`, generated there first when there is none: mode 0600 from creation and `wx`,
 * so two runs racing never overwrite each other's key.
 */
export function loadOrCreateNodeKey(file: string): { account: LocalAccount; created: boolean } {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: CONFIG_DIR_MODE });
    try {
      writeFileSync(file, `${generatePrivateKey()}\n`, { mode: NODE_KEY_FILE_MODE, flag: 'wx' });
      chmodSync(file, NODE_KEY_FILE_MODE);
      return { account: readNodeKey(file), created: true };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return { account: readNodeKey(file), created: false };
}
