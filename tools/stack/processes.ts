import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Lines of each child's output kept for error reports. */
export const TAIL_LINES_MAX = 80;
/** How long a child may take to exit after SIGTERM before SIGKILL. */
export const STOP_TIMEOUT_MS = 10_000;
/**
 * A child that dies on its own is restarted, at most RESTARTS_PER_WINDOW_MAX times within any
 * RESTART_WINDOW_MS: a crash loop gives up, while unrelated crashes spread over a long life do not
 * add up (the limit is per window, not per lifetime).
 */
export const RESTARTS_PER_WINDOW_MAX = 5;
export const RESTART_WINDOW_MS = 60_000;
/** The first restart waits this long; each further restart within the window doubles it... */
export const RESTART_DELAY_MS = 1_000;
/** ...up to this bound. */
export const RESTART_DELAY_MAX_MS = 15_000;

export type LineSink = (line: string) => void;

/** What a restart after `recentRestarts` restarts within the window does: wait `delayMs`, or give up. */
export function restartDecision(recentRestarts: number, limits = { max: RESTARTS_PER_WINDOW_MAX, baseMs: RESTART_DELAY_MS, capMs: RESTART_DELAY_MAX_MS }): { giveUp: true } | { giveUp: false; delayMs: number } {
  if (recentRestarts >= limits.max) return { giveUp: true };
  return { giveUp: false, delayMs: Math.min(limits.capMs, limits.baseMs * 2 ** recentRestarts) };
}

export interface ManagedProcessSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Restart it when it exits on its own (services), or not (one-shot helpers). */
  restart?: boolean;
  /** The signal that stops it cleanly (anvil dumps its state on SIGINT). */
  stopSignal?: NodeJS.Signals;
  /** How long a clean stop may take before SIGKILL (default STOP_TIMEOUT_MS). */
  stopTimeoutMs?: number;
  /** The signal sent when the launcher exits without stop() (default SIGKILL; a helper that must stop its own child cleanly wants SIGTERM). */
  orphanSignal?: NodeJS.Signals;
  /** Give it a stdin pipe that closes when the launcher dies, however it dies (helpers that watch stdin). */
  stdinPipe?: boolean;
  /** Runs (synchronously) before every restart, e.g. to repair a state file the crash left behind. */
  beforeRestart?: () => void;
  /** Restart limits (default RESTARTS_PER_WINDOW_MAX within RESTART_WINDOW_MS). */
  restartWindow?: { max: number; windowMs: number; baseDelayMs?: number; maxDelayMs?: number };
}

/** The children alive now: one `exit` listener of the launcher signals them all (not one listener each). */
const live = new Set<ManagedProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of live) p.signalOrphan();
  });
}

/** A child process whose output lines go to `sink` prefixed with its name, restarted when it dies on its own. */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  /** When each restart within the window happened (ms since epoch), oldest first. */
  private readonly restartTimes: number[] = [];
  private restartsTotal = 0;
  private readonly tail: string[] = [];
  private restartTimer: NodeJS.Timeout | undefined;
  private gaveUpRestarting = false;

  constructor(
    readonly spec: ManagedProcessSpec,
    private readonly sink: LineSink,
    private readonly now: () => number = Date.now,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** True once it died RESTARTS_PER_WINDOW_MAX times within the window and is no longer restarted. */
  get gaveUp(): boolean {
    return this.gaveUpRestarting;
  }

  /** Restarts over its whole life (informational: the limit is per window). */
  get restarts(): number {
    return this.restartsTotal;
  }

  /** When the launcher exits without stop(): the orphan signal (SIGKILL unless the spec says otherwise). */
  signalOrphan(): void {
    this.child?.kill(this.spec.orphanSignal ?? 'SIGKILL');
  }

  /** The last lines it printed (for error messages). */
  lastLines(): string {
    return this.tail.join('\n');
  }

  start(): void {
    // Its own process group: a terminal's Ctrl-C reaches only the launcher, which stops the children
    // in order (agents first, NATS last) instead of all of them dying at once.
    const opts: SpawnOptions = { cwd: this.spec.cwd, env: this.spec.env, stdio: [this.spec.stdinPipe ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true };
    const child = spawn(this.spec.command, this.spec.args, opts);
    this.child = child;
    child.stdin?.on('error', () => undefined);
    installExitHook();
    live.add(this);
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        this.tail.push(line);
        if (this.tail.length > TAIL_LINES_MAX) this.tail.shift();
        this.sink(`[${this.spec.name}] ${line}`);
      });
    }
    child.once('error', (err) => this.sink(`[${this.spec.name}] could not start: ${err.message}`));
    child.once('exit', (code, signal) => {
      live.delete(this);
      if (this.stopping) return;
      this.sink(`[${this.spec.name}] exited on its own (code ${code}, signal ${signal})`);
      if (!this.spec.restart) return;
      const w = this.spec.restartWindow;
      const windowMs = w?.windowMs ?? RESTART_WINDOW_MS;
      const max = w?.max ?? RESTARTS_PER_WINDOW_MAX;
      const now = this.now();
      while (this.restartTimes.length > 0 && now - this.restartTimes[0] >= windowMs) this.restartTimes.shift();
      const decision = restartDecision(this.restartTimes.length, { max, baseMs: w?.baseDelayMs ?? RESTART_DELAY_MS, capMs: w?.maxDelayMs ?? RESTART_DELAY_MAX_MS });
      if (decision.giveUp) {
        this.gaveUpRestarting = true;
        this.sink(`[${this.spec.name}] gave up: ${max} restarts within ${windowMs} ms`);
        return;
      }
      this.restartTimes.push(now);
      this.restartsTotal += 1;
      this.sink(`[${this.spec.name}] restarting in ${decision.delayMs} ms (${this.restartTimes.length}/${max} within ${windowMs} ms)`);
      this.restartTimer = setTimeout(() => {
        if (this.stopping) return;
        try {
          this.spec.beforeRestart?.();
        } catch (err) {
          this.sink(`[${this.spec.name}] before restarting: ${(err as Error).message}`);
        }
        this.start();
      }, decision.delayMs);
    });
  }

  /** Resolves with the exit code once the child has exited. */
  exited(): Promise<number | null> {
    const child = this.child;
    if (!child) return Promise.resolve(null);
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
    return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** The stop signal, then SIGKILL after `timeoutMs`; resolves once it has exited. */
  async stop(timeoutMs = this.spec.stopTimeoutMs ?? STOP_TIMEOUT_MS): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(this.spec.stopSignal ?? 'SIGTERM');
    const timer = setTimeout(() => {
      this.sink(`[${this.spec.name}] did not stop within ${timeoutMs} ms; killing it`);
      child.kill('SIGKILL');
    }, timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}
