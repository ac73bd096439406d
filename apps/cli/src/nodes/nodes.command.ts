import type { Argv } from 'yargs';
import { action, allRowsLimit, listOptions, PAGE_SIZE_MAX, pageLimit, take } from '../shared/command';
import type { Io } from '../shared/context';
import { filterOf, nodesTable } from './nodes-format';

const FILTER_HELP = [
  'Terms are ANDed; each is <field><op><value>, ops = != < <= > >= and `in [a,b]` / `notin [a,b]`.',
  'Fields: gpu, gpus, vram, region, latency, tee, reputation, benchmark, online, provider.',
  'Quote terms with < or > for the shell: starminer nodes search gpu=H100 \'vram>=80\' \'region in [eu-west,us-east]\'',
].join('\n');

export function nodesCommand(io: Io) {
  return {
    command: 'nodes',
    describe: 'the supply: search nodes with a filter',
    builder: (y: Argv) =>
      y
        .command(
          'search [filter..]',
          `nodes that match every term of the filter (all nodes without one)\n\n${FILTER_HELP}`,
          (b) =>
            listOptions(b, 'nodes')
              .positional('filter', { type: 'string', array: true, describe: 'filter terms, e.g. gpu=H100 vram>=80 reputation>0.9' })
              .example("$0 nodes search gpu=H100 'vram>=80' 'region in [eu-west,us-east]' 'reputation>0.9'", ''),
          action(io, async (argv, ctx) => {
            const filter = filterOf(argv.filter);
            const client = ctx.client({ needsKey: false });
            if (argv.all) {
              const max = allRowsLimit(argv.limit);
              const { items, more } = await take(client.nodes({ ...(filter ? { filter } : {}), pageSize: Math.min(max, PAGE_SIZE_MAX), signal: ctx.signal }), max);
              ctx.print({ nodes: items, more }, (r) => nodesTable(r.nodes));
              if (more) ctx.note(`(stopped at ${items.length}: --limit to list more)`);
              return;
            }
            const page = await client.listNodes({ ...(filter ? { filter } : {}), limit: pageLimit(argv.limit), cursor: argv.cursor, signal: ctx.signal });
            ctx.print(page, (p) => nodesTable(p.nodes));
            if (page.nextCursor) ctx.moreNote('add', page.nextCursor);
          }),
        )
        .demandCommand(1, 'name a nodes command: search'),
    handler: () => undefined,
  };
}
