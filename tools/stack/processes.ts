import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Lines of each child's output kept for error reports. */
export const TAIL_LINES_MAX = 80;
/** How long a child may take to exit after SIGTERM before SIGKILL. */
export const STOP_TIMEOUT_MS = 10_000;
/** A child that dies on its own is restarted at most this many times... */
export const RESTARTS_MAX = 5;
/** ...waiting this long first (doubling each time). */
export const RESTART_DELAY_MS = 1_000;

export type LineSink = (line: string) => void;

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
}

/** A child process whose output lines go to `sink` prefixed with its name, restarted when it dies on its own. */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  private restarts = 0;
  private readonly tail: string[] = [];
  private restartTimer: NodeJS.Timeout | undefined;
  private gaveUpRestarting = false;
  private readonly onExitOfParent = (): void => {
    this.child?.kill('SIGKILL');
  };

  constructor(
    readonly spec: ManagedProcessSpec,
    private readonly sink: LineSink,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** True once it died RESTARTS_MAX times and is no longer restarted. */
  get gaveUp(): boolean {
    return this.gaveUpRestarting;
  }

  /** The last lines it printed (for error messages). */
  lastLines(): string {
    return this.tail.join('\n');
  }

  start(): void {
    // Its own process group: a terminal's Ctrl-C reaches only the launcher, which stops the children
    // in order (agents first, NATS last) instead of all of them dying at once.
    const opts: SpawnOptions = { cwd: this.spec.cwd, env: this.spec.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true };
    const child = spawn(this.spec.command, this.spec.args, opts);
    this.child = child;
    process.once('exit', this.onExitOfParent);
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
      process.removeListener('exit', this.onExitOfParent);
      if (this.stopping) return;
      this.sink(`[${this.spec.name}] exited on its own (code ${code}, signal ${signal})`);
      if (!this.spec.restart) return;
      if (this.restarts >= RESTARTS_MAX) {
        this.gaveUpRestarting = true;
        this.sink(`[${this.spec.name}] gave up after ${RESTARTS_MAX} restarts`);
        return;
      }
      const delayMs = RESTART_DELAY_MS * 2 ** this.restarts;
      this.restarts += 1;
      this.sink(`[${this.spec.name}] restarting in ${delayMs} ms (${this.restarts}/${RESTARTS_MAX})`);
      this.restartTimer = setTimeout(() => {
        if (!this.stopping) this.start();
      }, delayMs);
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
  async stop(timeoutMs = STOP_TIMEOUT_MS): Promise<void> {
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
