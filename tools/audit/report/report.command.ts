import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { decodeEvent, EventSchemaError } from '@starminer/events';
import { scanLog } from '../shared/log-reader';
import type { AuditOutcome } from '../shared/outcome';
import type { AuditCommand, AuditRun } from '../shared/run';
import { evolveReport, initialReportState } from './fold';
import { renderReportHtml } from './html';
import { writeParquet } from './parquet';
import { reportTables } from './rows';
import { assertTable, toCsv } from './table';
import { reportWindow } from './window';

export interface ReportArgs {
  readonly from?: string;
  readonly to?: string;
  readonly out: string;
}

/** Undecodable events the run names on stderr (it counts them all). */
const UNDECODABLE_SAID_MAX = 10;

export const reportCommand: AuditCommand<ReportArgs> = {
  command: 'report',
  describe: 'per provider (jobs, GPU-hours, AGPU earned, success rate, runtime against expected, disputes, slashes, reputation) and per requester org (spend by category and GPU class), as CSV, Parquet and one HTML page',
  options: (y) =>
    y
      .option('from', { type: 'string', describe: 'first instant of the window, by occurredAt: ISO date (UTC) or date-time with a zone', defaultDescription: "the log's start" })
      .option('to', { type: 'string', describe: 'end of the window (exclusive; a date takes in that whole day)', defaultDescription: "the log's end" })
      .option('out', { type: 'string', describe: 'the folder the files are written to', default: './audit-report' }),
  run: runReport,
};

async function runReport(run: AuditRun, args: ReportArgs): Promise<AuditOutcome> {
  const window = reportWindow(args.from, args.to);
  const log = await run.openLog();
  const lastSeq = await log.lastSeq();
  const state = initialReportState(window);
  const progress = run.progress('report', 'events');
  let read = 0;
  let undecodable = 0;
  await scanLog(log, { toSeq: lastSeq }, (batch) => {
    for (const m of batch) {
      read += 1;
      let event;
      try {
        event = decodeEvent(m.data);
      } catch (err) {
        if (!(err instanceof EventSchemaError)) throw err;
        undecodable += 1;
        if (undecodable <= UNDECODABLE_SAID_MAX) run.say(`report: #${m.seq} on ${m.subject} is not a catalogue event, left out: ${err.message}`);
        continue;
      }
      evolveReport(state, event);
    }
    progress.update(read, lastSeq);
  });
  progress.stop();

  const tables = reportTables(state);
  const out = resolve(args.out);
  await mkdir(out, { recursive: true });
  const files: string[] = [];
  for (const table of [tables.providers, tables.orgs, tables.reputation]) {
    assertTable(table);
    await writeFile(join(out, `${table.name}.csv`), toCsv(table), 'utf8');
    await writeParquet(table, join(out, `${table.name}.parquet`));
    files.push(`${table.name}.csv`, `${table.name}.parquet`);
  }
  const page = await renderReportHtml({ ...tables, window: window.text, eventsRead: read, writtenAt: new Date().toISOString() });
  await writeFile(join(out, 'report.html'), page.html, 'utf8');
  files.push('report.html');
  run.say(`report: ${files.length} files in ${out}`);
  return {
    command: 'report',
    ok: true,
    figures: {
      eventsRead: read,
      eventsInWindow: state.eventsInWindow,
      undecodable,
      providers: tables.providers.rows.length,
      orgs: new Set(tables.orgs.rows.map((r) => r[0])).size,
      orgRows: tables.orgs.rows.length,
      reputationPoints: tables.reputation.rows.length,
      jobsForgotten: state.jobsForgotten,
      charts: page.charts,
      out,
      files,
    },
  };
}
