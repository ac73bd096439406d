#!/usr/bin/env node
import { homedir } from 'node:os';
import { runCli } from './cli';
import { EXIT } from './shared/errors';

/** `starminer`: the process around the CLI. Ctrl-C stops a wait cleanly (exit 130); a second one stops at once. */
function main(): void {
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
      process.stderr.write(`starminer: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = EXIT.refused;
    },
  );
}

main();
