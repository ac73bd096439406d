import type { Argv } from 'yargs';
import { action } from '../shared/command';
import { ENV } from '../shared/config-file';
import type { Io } from '../shared/context';
import { agpu, fields } from '../shared/output';
import { readSecret } from './read-secret';

export function loginCommand(io: Io) {
  return {
    command: 'login',
    describe: 'check an API key with the gateway and keep it (and the gateway) in the config file, readable by you only',
    builder: (y: Argv) =>
      y
        .option('api-key', { type: 'string', describe: 'the key (sm_...); without it, read from stdin or a hidden prompt' })
        .example('$0 login --gateway http://127.0.0.1:8080 < key.txt', '')
        .example('echo "$KEY" | $0 login', ''),
    handler: action(io, async (argv: { apiKey?: string }, ctx) => {
      const apiKey = argv.apiKey ?? (await readSecret(io, 'API key: '));
      const { gateway } = ctx.settings();
      const account = await ctx.client({ needsKey: true, apiKey }).getAccount({ signal: ctx.signal });
      ctx.saveConfig({ ...ctx.config(), gateway, apiKey });
      ctx.print({ gateway, configPath: ctx.configPath, account }, (r) =>
        [
          `logged in to ${r.gateway} as ${r.account.name} (${r.account.orgId})`,
          `account ${r.account.accountAddress} holds ${agpu(r.account.balanceWei)}`,
          `key kept in ${r.configPath}`,
        ].join('\n'),
      );
      if (io.env[ENV.apiKey]) ctx.note(`note: ${ENV.apiKey} is set and is used instead of the kept key while it is`);
    }),
  };
}

export function logoutCommand(io: Io) {
  return {
    command: 'logout',
    describe: 'forget the kept API key',
    builder: (y: Argv) => y,
    handler: action(io, async (_argv, ctx) => {
      const { apiKey, ...rest } = ctx.config();
      if (apiKey !== undefined) ctx.saveConfig(rest);
      ctx.print({ loggedOut: apiKey !== undefined, configPath: ctx.configPath }, (r) => (r.loggedOut ? `removed the key from ${r.configPath}` : 'no key was kept'));
      if (io.env[ENV.apiKey]) ctx.note(`note: ${ENV.apiKey} is still set in this shell`);
    }),
  };
}

export function whoamiCommand(io: Io) {
  return {
    command: 'whoami',
    describe: 'the org of the key in use, its account and balance, and where the key and gateway come from',
    builder: (y: Argv) => y,
    handler: action(io, async (_argv, ctx) => {
      const s = ctx.settings();
      const account = await ctx.client().getAccount({ signal: ctx.signal });
      ctx.print({ gateway: s.gateway, gatewayFrom: s.gatewayFrom, apiKeyFrom: s.apiKeyFrom, account }, (r) =>
        fields([
          ['org', `${r.account.name} (${r.account.orgId})`],
          ['account', r.account.accountAddress],
          ['balance', agpu(r.account.balanceWei)],
          ['gateway', `${r.gateway} (from ${r.gatewayFrom})`],
          ['key from', r.apiKeyFrom === 'env' ? ENV.apiKey : ctx.configPath],
        ]),
      );
    }),
  };
}
