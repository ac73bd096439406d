/**
 * A short chaos run as part of `npm test`: the whole stack, one round in which every part (both
 * agents, the six services, nats-server, Postgres, anvil) is killed with SIGKILL in turn while two
 * orgs submit a few jobs; every count must be 0. Slow (a few minutes): the stack boots once.
 */
import { NO_FAULTS } from './counts';
import { runChaos } from './run';

const CHAOS_SPEC_TIMEOUT_MS = 20 * 60_000;

describe('npm run chaos, one short round', () => {
  it('given every part killed once while jobs flow, loses, doubles and strands nothing and no token', async () => {
    const lines: string[] = [];
    const report = await runChaos({ rounds: 1, jobsPerRound: 4, clients: 2, maxMinutes: 18, progress: (l) => lines.push(l) });
    if (!report.ok) console.error(`chaos: ${JSON.stringify(report)}\n${lines.join('\n')}`);
    expect(report).toMatchObject({
      ...NO_FAULTS,
      partsNotBack: 0,
      rounds: 1,
      jobs: 4,
      kills: 11,
    });
  }, CHAOS_SPEC_TIMEOUT_MS);
});
