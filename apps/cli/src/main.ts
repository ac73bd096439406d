#!/usr/bin/env node
import { homedir } from 'node:os';
import { runCli } from './cli';
import { onBrokenPipe } from './shared/broken-pipe';
import { EXIT } from './shared/errors';
import { printableLines } from './shared/output';

/** `starminer`: the process around the CLI. Ctrl-C stops a wait cleanly (exit 130); a second one stops at once. */
function main(): void {
  // a reader that went away (`| head`) ends the command quietly, with the exit code it has so far
  const exitCodeSoFar = (): number => (typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok);
  onBrokenPipe(process.stdout, (code) => process.exit(code), exitCodeSoFar);
  onBrokenPipe(process.stderr, (code) => process.exit(code), exitCodeSoFar);
  const interrupt = new AbortController();
  process.on('SIGINT', () => {
    if (interrupt.signal.aborted) process.exit(EXIT.interrupted);
    interrupt.abort();
  });
  runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    platform: process.platform,
    homedir: homedir(),
    signal: interrupt.signal,
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`starminer: ${printableLines((err as Error).stack ?? String(err))}\n`);
      process.exitCode = EXIT.refused;
    },
  );
}

main();
