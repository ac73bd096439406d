import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDir, GATEWAY_DEFAULT, readConfig, resolveSettings, writeConfig } from './config-file';
import { UsageError } from './errors';

describe('the config file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'starminer-cli-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lives in $XDG_CONFIG_HOME, else %APPDATA% on Windows, else ~/.config', () => {
    expect(configDir({ XDG_CONFIG_HOME: '/x' }, 'linux', '/home/u')).toBe(join('/x', 'starminer'));
    expect(configDir({}, 'linux', '/home/u')).toBe(join('/home/u', '.config', 'starminer'));
    expect(configDir({}, 'darwin', '/Users/u')).toBe(join('/Users/u', '.config', 'starminer'));
    expect(configDir({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32', 'C:\\Users\\u')).toBe(join('C:\\Users\\u\\AppData\\Roaming', 'starminer'));
  });

  it('is written readable by its owner only, in a directory only its owner enters, and read back', () => {
    const path = join(dir, 'nested', 'starminer', 'config.json');
    writeConfig(path, { gateway: 'http://127.0.0.1:8080', apiKey: 'sm_secret' });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'nested', 'starminer')).mode & 0o777).toBe(0o700);
    expect(readConfig(path)).toEqual({ gateway: 'http://127.0.0.1:8080', apiKey: 'sm_secret' });
    writeConfig(path, { gateway: 'http://127.0.0.1:9090' });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ gateway: 'http://127.0.0.1:9090' });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('is empty before the first login', () => {
    expect(readConfig(join(dir, 'none.json'))).toEqual({});
  });

  it.each([
    ['not JSON', '{"apiKey":'],
    ['not an object', '["sm_x"]'],
    ['a key that is not text', '{"apiKey":5}'],
    ['a chain id that is not a positive integer', '{"provider":{"chainId":-1}}'],
  ])('refuses a file that is %s, naming it', (_name, text) => {
    const path = join(dir, 'config.json');
    writeFileSync(path, text);
    expect(() => readConfig(path)).toThrow(UsageError);
    expect(() => readConfig(path)).toThrow(path);
  });
});

describe('resolveSettings: where the gateway and the key come from', () => {
  const config = { gateway: 'http://config:1', apiKey: 'sm_config' };

  it('a flag over the environment over the file over the default', () => {
    expect(resolveSettings({ gatewayFlag: 'http://flag:1/', env: { STARMINER_GATEWAY: 'http://env:1' }, config })).toMatchObject({ gateway: 'http://flag:1', gatewayFrom: 'flag' });
    expect(resolveSettings({ env: { STARMINER_GATEWAY: 'http://env:1' }, config })).toMatchObject({ gateway: 'http://env:1', gatewayFrom: 'env' });
    expect(resolveSettings({ env: {}, config })).toMatchObject({ gateway: 'http://config:1', gatewayFrom: 'config' });
    expect(resolveSettings({ env: {}, config: {} })).toEqual({ gateway: GATEWAY_DEFAULT, gatewayFrom: 'default' });
  });

  it('the key from the environment over the file', () => {
    expect(resolveSettings({ env: { STARMINER_API_KEY: 'sm_env' }, config })).toMatchObject({ apiKey: 'sm_env', apiKeyFrom: 'env' });
    expect(resolveSettings({ env: {}, config })).toMatchObject({ apiKey: 'sm_config', apiKeyFrom: 'config' });
  });

  it('refuses a gateway that is not an http(s) URL, saying where it came from', () => {
    expect(() => resolveSettings({ gatewayFlag: 'localhost:8080', env: {}, config: {} })).toThrow(/from flag/);
    expect(() => resolveSettings({ env: { STARMINER_GATEWAY: 'ftp://x' }, config: {} })).toThrow(/must be http or https/);
  });
});
