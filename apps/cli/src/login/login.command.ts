import type { Argv } from 'yargs';
import { action } from '../shared/command';
import { ENV } from '../shared/config-file';
import type { Io } from '../shared/context';
import { agpu, fields, printable } from '../shared/output';
import { readSecret } from './read-secret';

export function loginCommand(io: Io) {
  return {
    command: 'login',
    describe: 'check an API key with the gateway and keep it (and the gateway) in the config file, readable by you only',
    builder: (y: Argv) =>
      y
        .option('api-key', { type: 'string', describe: `the key (sm_...), for scripts: on the command line it shows in ps and the shell history, so prefer stdin, the hidden prompt, or ${ENV.apiKey} instead of login` })
        .example('$0 login --gateway http://127.0.0.1:8080 < key.txt', '')
        .example('echo "$KEY" | $0 login', ''),
    handler: action(io, async (argv: { apiKey?: string }, ctx) => {
      if (argv.apiKey !== undefined) ctx.note(secretOnArgvWarning('--api-key', 'key', `pipe it on stdin (echo "$KEY" | starminer login), type it at the prompt, or set ${ENV.apiKey} and skip login`));
      const apiKey = argv.apiKey ?? (await readSecret(io, 'API key: '));
      const { gateway } = ctx.settings();
      const account = await ctx.client({ needsKey: true, apiKey }).getAccount({ signal: ctx.signal });
      ctx.saveConfig({ ...ctx.config(), gateway, apiKey });
      ctx.print({ gateway, configPath: ctx.configPath, account }, (r) =>
        [
          `logged in to ${r.gateway} as ${printable(r.account.name)} (${printable(r.account.orgId)})`,
          `account ${printable(r.account.accountAddress)} holds ${agpu(r.account.balanceWei)}`,
          `key kept in ${r.configPath}`,
        ].join('\n'),
      );
      if (io.env[ENV.apiKey]) ctx.note(`note: ${ENV.apiKey} is set and is used instead of the kept key while it is`);
    }),
  };
}

/**
 * The warning for a secret given as a flag: every user of the machine can read a process's
 * arguments (ps, /proc), and the shell keeps them in its history. The flag stays, for scripts
 * that have no better way; the warning says the better ways. Not with --json (stderr is then for
 * the error alone).
 */
export function secretOnArgvWarning(flag: string, what: string, instead: string): string {
  return `warning: ${flag} puts the ${what} on the command line, where ps shows it to every user of this machine and the shell keeps it in its history; ${instead}`;
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
