import type { Argv } from 'yargs';
import { action, pageLimit } from '../shared/command';
import type { Io } from '../shared/context';
import { pricesTable, queuesTable } from './market-format';

export function marketCommand(io: Io) {
  return {
    command: 'market',
    describe: 'the price board and the queues',
    builder: (y: Argv) =>
      y
        .command(
          'prices',
          'the price of one GPU-hour per market (GPU model x region) and tier: base x tier x utilization',
          (b) =>
            b
              .option('gpu', { type: 'string', describe: 'one GPU model' })
              .option('region', { type: 'string', describe: 'one region' })
              .option('limit', { type: 'number', describe: 'markets per page' })
              .option('cursor', { type: 'string', describe: 'start after this cursor (a previous page printed it)' }),
          action(io, async (argv, ctx) => {
            // public: no key needed, but sent when there is one
            const board = await ctx.client({ needsKey: false }).getPrices({
              ...(argv.gpu ? { gpuModel: argv.gpu } : {}),
              ...(argv.region ? { region: argv.region } : {}),
              limit: pageLimit(argv.limit),
              cursor: argv.cursor,
              signal: ctx.signal,
            });
            ctx.print(board, (b) => pricesTable(b.markets));
            if (board.nextCursor) ctx.moreNote('starminer market prices', board.nextCursor);
          }),
        )
        .command(
          'queues',
          'queued jobs per category',
          (b) => b,
          action(io, async (_argv, ctx) => {
            const answer = await ctx.client({ needsKey: false }).getQueues({ signal: ctx.signal });
            ctx.print(answer, (a) => queuesTable(a.queues));
          }),
        )
        .demandCommand(1, 'name a market command: prices, queues'),
    handler: () => undefined,
  };
}
