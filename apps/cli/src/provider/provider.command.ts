import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { createProviderClient } from '@starminer/sdk/provider';
import { action, pageLimit } from '../shared/command';
import { ENV } from '../shared/config-file';
import type { Ctx, Io } from '../shared/context';
import { UsageError } from '../shared/errors';
import { printable } from '../shared/output';
import { BENCHMARK_KIND, BENCHMARK_MS_DEFAULT, BENCHMARK_MS_MAX, benchmarkMs, measureHashRate } from './benchmark';
import { defaultNodeKeyFile, loadOrCreateNodeKey, nodeIdFor, readNodeKey } from './node-key';
import { earningsText, nodeStatusText } from './provider-format';
import { registrationFromFlags, RUNTIME_KINDS, type RegisterFlags } from './registration';

interface NodeFlags {
  keyFile?: string;
  nodeId?: string;
  chainId?: number;
  origin?: string;
}

const NODE_GROUP = 'The node key and the deployment:';

function nodeOptions<T>(y: Argv<T>) {
  return y
    .option('key-file', { type: 'string', describe: 'the node private key (0x + 64 hex); default: the one `provider register` keeps in the config directory', group: NODE_GROUP })
    .option('node-id', { type: 'string', describe: "the node's id (default: the registered one, else node-<address>)", group: NODE_GROUP })
    .option('chain-id', { type: 'number', describe: `the market's chain id, which every request is signed for (or ${ENV.chainId}; kept after register)`, group: NODE_GROUP })
    .option('origin', { type: 'string', describe: "the gateway's public origin the requests are signed for, when it differs from --gateway (behind a proxy)", group: NODE_GROUP });
}

/** The node key, id and chain of a provider command, and a client signing with that key. */
function providerOf(ctx: Ctx, argv: NodeFlags, opts: { createKey: boolean }) {
  const kept = ctx.config().provider ?? {};
  const keyFile = resolve(argv.keyFile ?? kept.keyFile ?? defaultNodeKeyFile(dirname(ctx.configPath)));
  let account;
  let created = false;
  if (opts.createKey && argv.keyFile === undefined) ({ account, created } = loadOrCreateNodeKey(keyFile));
  else if (!existsSync(keyFile)) throw new UsageError('NODE_KEY_MISSING', `no node key at ${keyFile}: run \`starminer provider register\` first, or pass --key-file`);
  else account = readNodeKey(keyFile);
  const envChain = ctx.io.env[ENV.chainId];
  const chainId = argv.chainId ?? (envChain === undefined ? undefined : Number(envChain)) ?? kept.chainId;
  if (chainId === undefined) throw new UsageError('MISSING_FLAG', `--chain-id is required: the market's chain id (or set ${ENV.chainId})`);
  if (!Number.isSafeInteger(chainId) || chainId <= 0) throw new UsageError('BAD_FLAG', `--chain-id must be a positive whole number, got ${String(chainId)}`);
  const sameKey = kept.keyFile !== undefined && resolve(kept.keyFile) === keyFile;
  const nodeId = argv.nodeId ?? (sameKey ? kept.nodeId : undefined) ?? nodeIdFor(account.address);
  const { gateway } = ctx.settings();
  const client = createProviderClient({ baseUrl: gateway, account, chainId, ...(argv.origin ? { origin: argv.origin } : {}), fetch: ctx.fetch });
  return { account, keyFile, created, chainId, nodeId, client };
}

export function providerCommand(io: Io) {
  return {
    command: 'provider',
    describe: 'for providers: register a node, its status, its earnings (signed by the node key)',
    builder: (y: Argv) =>
      y
        .command(
          'register',
          'register a node (a new key is made and kept in the config directory unless --key-file names one)',
          (b) =>
            nodeOptions(b)
              .option('gpu', { type: 'string', describe: 'the GPU model, e.g. H100' })
              .option('gpus', { type: 'number', describe: 'GPUs on the node (default 1)' })
              .option('vram', { type: 'number', describe: 'VRAM of one GPU, GiB' })
              .option('region', { type: 'string', describe: 'e.g. eu-west' })
              .option('latency', { type: 'number', describe: "round trip to the region's edge, ms (default 20)" })
              .option('tee', { type: 'boolean', describe: 'the node runs in a trusted execution environment' })
              .option('carbon', { type: 'number', describe: 'grid carbon intensity, g CO2 per kWh (default 300)' })
              .option('renewable', { type: 'number', describe: 'renewable share of its energy, 0-1 (default 0.3)' })
              .option('runtimes', { type: 'string', array: true, describe: `what it runs: ${RUNTIME_KINDS.join(', ')} (default hash-chain,matmul)` })
              .option('provider-id', { type: 'string', describe: 'the provider (you) the node belongs to' })
              .option('benchmark-score', { type: 'number', describe: 'a benchmark you measured (default: measure sha256 hashes per second now)' })
              .option('benchmark-kind', { type: 'string', describe: `what --benchmark-score measures (default ${BENCHMARK_KIND})` })
              .option('benchmark-ms', { type: 'number', describe: `how long to measure, ms: 1-${BENCHMARK_MS_MAX} (default ${BENCHMARK_MS_DEFAULT}); Ctrl-C stops it` })
              .example('$0 provider register --chain-id 31337 --gpu RTX4090 --vram 24 --region eu-west', ''),
          action(io, async (argv, ctx) => {
            const measureMs = benchmarkMs(argv.benchmarkMs); // before the key is made: a wrong flag leaves nothing behind
            const p = providerOf(ctx, argv, { createKey: true });
            const benchmark =
              argv.benchmarkScore !== undefined
                ? { kind: argv.benchmarkKind ?? BENCHMARK_KIND, score: argv.benchmarkScore, measuredAt: new Date().toISOString() }
                : { kind: BENCHMARK_KIND, score: await measureHashRate(measureMs, { signal: ctx.signal }), measuredAt: new Date().toISOString() };
            const registration = registrationFromFlags(argv as RegisterFlags, p.account.address, p.nodeId, benchmark);
            const answer = await p.client.registerNode({ registration, signal: ctx.signal });
            ctx.saveConfig({ ...ctx.config(), provider: { keyFile: p.keyFile, nodeId: answer.nodeId, chainId: p.chainId } });
            ctx.print({ ...answer, nodeAddress: p.account.address, keyFile: p.keyFile, keyCreated: p.created }, (r) =>
              [
                `registered node ${printable(r.nodeId)} (${r.nodeAddress}): ${registration.gpuCount} x ${printable(registration.gpuModel)} in ${printable(registration.region)}`,
                `node key ${r.keyCreated ? 'created in' : 'from'} ${r.keyFile}`,
                'run the provider agent with this key to take jobs (AGENT_KEY_FILE)',
              ].join('\n'),
            );
          }),
        )
        .command(
          'status',
          'the node as the market sees it: online, reputation, stake, its jobs by status',
          (b) => nodeOptions(b),
          action(io, async (argv, ctx) => {
            const p = providerOf(ctx, argv, { createKey: false });
            const status = await p.client.getNodeStatus({ nodeId: p.nodeId, signal: ctx.signal });
            ctx.print(status, nodeStatusText);
          }),
        )
        .command(
          'earnings',
          'what the node was paid: total, settled jobs (paged), refunded and failed counts',
          (b) =>
            nodeOptions(b)
              .option('limit', { type: 'number', describe: 'settled jobs per page' })
              .option('cursor', { type: 'string', describe: 'start after this cursor (a previous page printed it)' }),
          action(io, async (argv, ctx) => {
            const p = providerOf(ctx, argv, { createKey: false });
            const earnings = await p.client.getEarnings({ nodeId: p.nodeId, limit: pageLimit(argv.limit), cursor: argv.cursor, signal: ctx.signal });
            ctx.print(earnings, earningsText);
            if (earnings.nextCursor) ctx.moreNote('starminer provider earnings', earnings.nextCursor);
          }),
        )
        .demandCommand(1, 'name a provider command: register, status, earnings'),
    handler: () => undefined,
  };
}
