import type { Argv } from 'yargs';
import { jobFromArgs, jobOptions } from '../jobs/jobs.command';
import { action } from '../shared/command';
import type { Io } from '../shared/context';
import { quoteText } from './quote-format';

export function quoteCommand(io: Io) {
  return {
    command: 'quote',
    describe: 'what a job would cost now, where, and how soon; or why not, and the nearest option (nothing is submitted)',
    builder: (y: Argv) =>
      jobOptions(y).example('$0 quote --category inference --budget 50 --gpu H100 --vram 8 --runtime 60', ''),
    handler: action(io, async (argv: Parameters<typeof jobFromArgs>[0], ctx) => {
      const job = await jobFromArgs(argv, io);
      const quote = await ctx.client().createQuote({ job, signal: ctx.signal });
      ctx.print(quote, quoteText);
    }),
  };
}
