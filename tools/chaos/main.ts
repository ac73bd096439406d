/**
 * `npm run chaos -- [--rounds N] [--jobs-per-round J] [--clients C] [--grace-sec G] [--max-minutes M] [--keep-data]`:
 * kills every part of the stack (agents, services, nats-server, Postgres, anvil) with SIGKILL in
 * turn for N rounds while clients submit jobs, waits for the market to go quiet, prints one JSON
 * line of counts (see counts.ts) and exits 1 when any is not 0. See docs/RELIABILITY.md.
 */
import { parseArgs } from 'node:util';
import { numberOption } from '../cli-options';
import { CHAOS_DEFAULTS, CHAOS_LIMITS, runChaos } from './run';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string' },
      'jobs-per-round': { type: 'string' },
      clients: { type: 'string' },
      'grace-sec': { type: 'string' },
      'max-minutes': { type: 'string' },
      'keep-data': { type: 'boolean' },
    },
  });
  const report = await runChaos({
    rounds: numberOption(values, 'rounds', CHAOS_DEFAULTS.rounds, { min: 1, max: CHAOS_LIMITS.rounds }),
    jobsPerRound: numberOption(values, 'jobs-per-round', CHAOS_DEFAULTS.jobsPerRound, { min: 1, max: CHAOS_LIMITS.jobsPerRound }),
    clients: numberOption(values, 'clients', CHAOS_DEFAULTS.clients, { min: 1, max: CHAOS_LIMITS.clients }),
    graceSec: numberOption(values, 'grace-sec', CHAOS_DEFAULTS.graceSec, { min: 0, max: CHAOS_LIMITS.graceSec }),
    maxMinutes: numberOption(values, 'max-minutes', CHAOS_DEFAULTS.maxMinutes, { min: 1, max: CHAOS_LIMITS.maxMinutes }),
    keepData: values['keep-data'] === true,
  });
  console.log(JSON.stringify(report));
  process.exit(report.ok ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(`chaos: ${(err as Error).stack ?? String(err)}`);
  process.exit(2);
});
