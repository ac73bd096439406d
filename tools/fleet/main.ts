/**
 * `npm run fleet -- --gateway URL --chain-id ID [--nodes 1000] [--gpus 8] [--seed S] [--poll-wait-ms 5000] [--signed]`
 *
 * Runs a simulated fleet (tools/fleet/fleet.ts) against a gateway until SIGINT/SIGTERM. Prints one
 * JSON line `{"fleet":"ready",...}` once every node is registered and online, then a JSON status
 * line every --status-sec seconds (polls, jobs started and submitted, errors by code), and a last
 * one when it stops. bench:e2e --fleet runs it as a child process, so its CPU is counted apart.
 * The nodes use node sessions, as the agent does; `--signed` signs every call instead.
 */
import { parseArgs } from 'node:util';
import { numberOption } from '../cli-options';
import { FLEET_NODES_MAX, startFleet } from './fleet';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      gateway: { type: 'string' },
      'chain-id': { type: 'string' },
      nodes: { type: 'string' },
      gpus: { type: 'string' },
      seed: { type: 'string', default: 'fleet' },
      'poll-wait-ms': { type: 'string' },
      'status-sec': { type: 'string' },
      signed: { type: 'boolean', default: false },
    },
  });
  if (!values.gateway) throw new Error('--gateway URL is required');
  const chainId = numberOption(values, 'chain-id', 31337, { min: 1, max: 2 ** 32 });
  const nodes = numberOption(values, 'nodes', 1000, { min: 1, max: FLEET_NODES_MAX });
  const gpusPerNode = numberOption(values, 'gpus', 8, { min: 1, max: 16 });
  const pollWaitMs = numberOption(values, 'poll-wait-ms', 5_000, { min: 0, max: 20_000 });
  const statusSec = numberOption(values, 'status-sec', 5, { min: 1, max: 3600 });
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const fleet = await startFleet({ gatewayUrl: values.gateway, chainId, nodes, gpusPerNode, seed: values.seed!, pollWaitMs, sessions: !values.signed, log });
  const status = (phase: string): void => console.log(JSON.stringify({ fleet: phase, ...fleet.stats, at: new Date().toISOString() }));
  status('ready');
  const timer = setInterval(() => status('running'), statusSec * 1000);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  clearInterval(timer);
  await fleet.stop();
  status('stopped');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`fleet failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
