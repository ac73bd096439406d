/** What `onBrokenPipe` needs of a stream: its 'error' event. */
export interface ErrorEmitter {
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * `starminer completion | head -5`, `starminer jobs watch ID | head -1`: once the reader has gone,
 * the next write fails with EPIPE, emitted as an 'error' event that nobody handles, and Node dies
 * with its stack. The reader wanted no more: `exit` quietly, with the exit code the command has so
 * far (`exitCode()`). Any other error of the stream is not ours to hide and is thrown as before.
 */
export function onBrokenPipe(stream: ErrorEmitter, exit: (code: number) => void, exitCode: () => number): void {
  stream.on('error', (err: Error) => {
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') exit(exitCode());
    else throw err;
  });
}
