import type { Argv } from 'yargs';
import { decodeEvent } from '@starminer/events';
import { Differences, type AuditOutcome } from '../shared/outcome';
import { scanLog } from '../shared/log-reader';
import type { AuditCommand, AuditRun } from '../shared/run';
import { MatchingRerun } from './rerun';

interface MatchingArgs {
  'to-seq'?: number;
}

/**
 * `matching`: re-runs the matching engine over the log with the engine version and configuration
 * each receipt records, and checks that every JobMatched is the assignment and price the engine
 * gives on the state the log gives (rerun.ts says which state, and what is checked when the log
 * does not hold it). A difference names the job and carries both receipts.
 */
export const matchingCommand: AuditCommand<MatchingArgs> = {
  command: 'matching',
  describe: 're-run the matching engine over the log; every JobMatched must be the node, GPUs and price the engine gives',
  options: (y: Argv) => y.option('to-seq', { type: 'number', describe: "the last sequence to read (default: the log's last)" }),
  async run(run: AuditRun, args: MatchingArgs): Promise<AuditOutcome> {
    const log = await run.openLog();
    const toSeq = args['to-seq'] ?? (await log.lastSeq());
    const differences = new Differences();
    const rerun = new MatchingRerun((d) => differences.add(d));
    const progress = run.progress('matching', 'events');
    let undecodable = 0;
    const read = await scanLog(log, { toSeq }, (batch) => {
      for (const m of batch) {
        let event;
        try {
          event = decodeEvent(m.data);
        } catch {
          undecodable += 1;
          rerun.undecodable(m.seq, m.subject);
          continue;
        }
        rerun.accept(m.seq, m.subject, event);
      }
      progress.update(batch[batch.length - 1]!.seq, toSeq);
    });
    rerun.finish();
    progress.stop();
    const f = rerun.figures;
    run.say(
      `matching: ${f.matches} matches: ${f.rerunIdentical} re-run identically, ${Object.values(f.rerunUnverifiable).reduce((a, b) => a + (b ?? 0), 0)} not re-runnable from the log (${JSON.stringify(f.rerunUnverifiable)}), ${f.pricesChecked} prices checked`,
    );
    return differences.outcome('matching', { lastSeq: read.toSeq, undecodable, ...f });
  },
};
