import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

export class NodeKeyError extends Error {
  override readonly name = 'NodeKeyError';
  readonly code = 'NODE_KEY_INVALID';
}

const KEY_PATTERN = /^0x[0-9a-fA-F]{64}$/;
/** Owner read/write only: the key signs results that release escrowed tokens. */
export const KEY_FILE_MODE = 0o600;

/**
 * The node's signing key: read from `file`, or generated on first start and written there with
 * mode 0600 (`wx`, so two agents racing on one file never overwrite each other's key).
 */
export function loadOrCreateNodeKey(file: string): { account: LocalAccount; created: boolean } {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    try {
      writeFileSync(file, `${generatePrivateKey()}\n`, { mode: KEY_FILE_MODE, flag: 'wx' });
      chmodSync(file, KEY_FILE_MODE); // the umask may have cleared bits; make it exact
      return { account: privateKeyToAccount(readKey(file)), created: true };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return { account: privateKeyToAccount(readKey(file)), created: false };
}

function readKey(file: string): `0x${string}` {
  const text = readFileSync(file, 'utf8').trim();
  if (!KEY_PATTERN.test(text)) throw new NodeKeyError(`${file} does not hold a 0x-prefixed 32-byte private key`);
  return text as `0x${string}`;
}
