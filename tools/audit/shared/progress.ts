import { SingleBar } from 'cli-progress';

/** How often a pipe or a log gets a progress line (a terminal's bar redraws on its own). */
export const PROGRESS_LINE_INTERVAL_MS = 2_000;

/** The progress of a long run: a bar with events/s and time left on a terminal, a plain line every few seconds elsewhere. */
export interface Progress {
  /** `done` of `total` units (events, jobs, anchors) so far. */
  update(done: number, total?: number): void;
  /** The run ended (the bar is finished and the line printed). */
  stop(): void;
}

export interface ProgressTarget {
  readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Plain lines even on a terminal (for `--json` runs and logs). */
  readonly plain?: boolean;
  /** ms clock, for specs. */
  readonly now?: () => number;
}

/**
 * cli-progress draws the bar (a kept library: redraw, ETA and terminal width handled); the plain
 * lines are ours, since a CI log wants one line per few seconds, not carriage returns.
 */
export function startProgress(label: string, unit: string, target: ProgressTarget): Progress {
  const now = target.now ?? Date.now;
  const startedMs = now();
  if (!target.plain && target.stream.isTTY && (target.stream.columns ?? 0) > 0) {
    const bar = new SingleBar({
      format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s | {eta_formatted} left`,
      stream: target.stream as NodeJS.WritableStream,
      etaBuffer: 50,
      hideCursor: true,
    });
    bar.start(1, 0, { rate: '0' });
    return {
      update(done, total) {
        if (total !== undefined) bar.setTotal(Math.max(1, total));
        bar.update(done, { rate: rateOf(done, now() - startedMs) });
      },
      stop: () => bar.stop(),
    };
  }
  let lastLineMs = startedMs;
  let last = { done: 0, total: undefined as number | undefined };
  const line = (final: boolean): void => {
    const elapsedMs = now() - startedMs;
    const rate = elapsedMs > 0 ? (last.done * 1000) / elapsedMs : 0;
    const left = last.total !== undefined && rate > 0 && !final ? ` | ${Math.ceil((last.total - last.done) / rate)} s left` : '';
    const of = last.total !== undefined ? `/${last.total}` : '';
    target.stream.write(`${label}: ${last.done}${of} ${unit} | ${Math.round(rate)} ${unit}/s${left}${final ? ` | ${(elapsedMs / 1000).toFixed(1)} s` : ''}\n`);
  };
  return {
    update(done, total) {
      last = { done, total: total ?? last.total };
      const t = now();
      if (t - lastLineMs < PROGRESS_LINE_INTERVAL_MS) return;
      lastLineMs = t;
      line(false);
    },
    stop: () => line(true),
  };
}

function rateOf(done: number, elapsedMs: number): string {
  return elapsedMs > 0 ? String(Math.round((done * 1000) / elapsedMs)) : '0';
}
