import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../shared/errors';
import { loadOrCreateNodeKey, nodeIdFor, readNodeKey } from './node-key';

describe('the node key', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'starminer-cli-key-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is created once, readable by its owner only, and the same key after', () => {
    const file = join(dir, 'sub', 'node.key');
    const first = loadOrCreateNodeKey(file);
    expect(first.created).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = loadOrCreateNodeKey(file);
    expect(again.created).toBe(false);
    expect(again.account.address).toBe(first.account.address);
    expect(readNodeKey(file).address).toBe(first.account.address);
  });

  it('names the node as the provider agent does', () => {
    expect(nodeIdFor('0xAbCd000000000000000000000000000000000001')).toBe('node-abcd000000000000000000000000000000000001');
  });

  it('refuses a file that is not a key, or is not there', () => {
    const file = join(dir, 'bad.key');
    writeFileSync(file, 'not a key\n');
    expect(() => readNodeKey(file)).toThrow(UsageError);
    expect(() => readNodeKey(join(dir, 'none.key'))).toThrow(/cannot read the node key/);
  });
});
