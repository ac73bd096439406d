/**
 * `npm run trace-generate -- --shape philly|helios|alibaba --jobs N --seed S --out FILE [--load L]`
 * writes a seeded synthetic trace in the Alibaba 2023 column format: pods to FILE, nodes to
 * FILE with `.nodes.csv` in place of `.csv` (or appended). Replay it with
 * `npm run trace-replay -- --pods FILE --nodes FILE.nodes.csv`. Shapes and sources: generator.ts.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { numberOption } from '../cli-options';
import { GENERATE_LIMITS, generateTrace, SHAPES, type TraceShape } from './generator';

const USAGE = `usage: npm run trace-generate -- --shape ${SHAPES.join('|')} --jobs N --seed S --out FILE [--load L]`;

export const nodesFileOf = (out: string): string => (out.endsWith('.csv') ? `${out.slice(0, -4)}.nodes.csv` : `${out}.nodes.csv`);

function main(): void {
  const { values } = parseArgs({ options: { shape: { type: 'string' }, jobs: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, load: { type: 'string' } } });
  if (!values.out || !values.shape || !(SHAPES as readonly string[]).includes(values.shape) || values.jobs === undefined) {
    console.error(USAGE);
    process.exit(2);
  }
  const jobs = numberOption(values, 'jobs', 0, { min: 1, max: GENERATE_LIMITS.jobsMax });
  const seed = numberOption(values, 'seed', 1, { min: 0, max: 2 ** 32 - 1 });
  const load = numberOption(values, 'load', 1.1, { min: GENERATE_LIMITS.loadMin, max: GENERATE_LIMITS.loadMax, integer: false });
  const trace = generateTrace({ shape: values.shape as TraceShape, jobs, seed, load });
  const nodesFile = nodesFileOf(values.out);
  writeFileSync(values.out, trace.podsCsv);
  writeFileSync(nodesFile, trace.nodesCsv);
  console.log(`wrote ${jobs} ${values.shape} pods (seed ${seed}, load ${load}) to ${values.out}, ${trace.nodesCsv.split('\n').length - 2} nodes to ${nodesFile}`);
}

main();
