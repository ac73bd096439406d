import { createSpinner } from 'nanospinner';
import { printable } from './output';

/** What a wait shows while it waits: a spinner on a terminal, plain lines in a pipe or a log, nothing with `--json`. */
export interface Progress {
  update(text: string): void;
  succeed(text: string): void;
  fail(text: string): void;
}

export interface ProgressTarget {
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  json: boolean;
}

export function startProgress(target: ProgressTarget, firstText: string): Progress {
  // the text may quote the gateway (a waiting reason): one line, no control characters
  const text = printable(firstText);
  if (target.json) return { update: () => undefined, succeed: () => undefined, fail: () => undefined };
  // a terminal that reports no width (a bare pty) would make the spinner's redraw arithmetic divide by zero
  if (target.stderr.isTTY && ((target.stderr as NodeJS.WriteStream).columns ?? 0) > 0) {
    const spinner = createSpinner(text, { stream: target.stderr as NodeJS.WriteStream }).start();
    return {
      update: (t) => void spinner.update({ text: printable(t) }),
      succeed: (t) => void spinner.success({ text: printable(t) }),
      fail: (t) => void spinner.error({ text: printable(t) }),
    };
  }
  // not a terminal: one line per change, so a CI log shows each step once
  let last = '';
  const line = (raw: string): void => {
    const t = printable(raw);
    if (t === last) return;
    last = t;
    target.stderr.write(`${t}\n`);
  };
  line(text);
  return { update: line, succeed: line, fail: line };
}
