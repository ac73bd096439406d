/**
 * What every audit command ends with: one JSON line on stdout (`{"audit":"<command>","ok":...}`)
 * and an exit code. A failed check names its first difference, so an auditor starts from it.
 */
export interface AuditOutcome {
  readonly command: string;
  /** True when every check of the command passed. */
  readonly ok: boolean;
  /** Figures of the run (events read, rows compared, seconds), in the summary line. */
  readonly figures: Record<string, unknown>;
  /** The first difference found, in words an auditor can act on; absent when ok. */
  readonly firstDifference?: string;
  /** Every difference found, bounded by DIFFERENCES_MAX (the summary says how many in all). */
  readonly differences?: readonly Difference[];
}

export interface Difference {
  /** What the difference is about: a read model's table, a job, an anchor, an account. */
  readonly subject: string;
  readonly message: string;
  /** Both sides, where there are two. */
  readonly expected?: unknown;
  readonly actual?: unknown;
}

/** The most differences one run keeps and prints (the count goes on). */
export const DIFFERENCES_MAX = 100;

/** Exit codes of `npm run audit`. */
export const AUDIT_EXIT = {
  /** every check passed */
  ok: 0,
  /** a check failed: the summary's firstDifference says where */
  failed: 1,
  /** a usage or configuration error: nothing was checked */
  usage: 2,
  /** the log, the chain or the database could not be reached or read: nothing was decided */
  unreachable: 3,
} as const;

/** Collects differences, keeping the first DIFFERENCES_MAX and counting the rest. */
export class Differences {
  private readonly kept: Difference[] = [];
  private total = 0;

  add(d: Difference): void {
    this.total += 1;
    if (this.kept.length < DIFFERENCES_MAX) this.kept.push(d);
  }

  get count(): number {
    return this.total;
  }

  get list(): readonly Difference[] {
    return this.kept;
  }

  /** The outcome of a command that found these differences (ok when none). */
  outcome(command: string, figures: Record<string, unknown>): AuditOutcome {
    const first = this.kept[0];
    return {
      command,
      ok: this.total === 0,
      figures: { ...figures, differences: this.total },
      ...(first ? { firstDifference: `${first.subject}: ${first.message}`, differences: this.kept } : {}),
    };
  }
}

/** The bigint-safe JSON of a value (amounts are bigint base units: written as decimal strings). */
export function auditJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/** The summary line: `{"audit":"replay","ok":true,...figures,"firstDifference":...}`. */
export function summaryLine(o: AuditOutcome): string {
  return auditJson({ audit: o.command, ok: o.ok, ...o.figures, ...(o.firstDifference ? { firstDifference: o.firstDifference } : {}) });
}
