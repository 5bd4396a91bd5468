// How an sgas process ends its output, the CLI's own and the native-noise filter's parent alike:
// nothing written is dropped at exit, and a reader that went away is not a failure.

/**
 * Ends the process once stdout and stderr have taken everything written to them. A pipe takes
 * what fits in its buffer and Node queues the rest, and process.exit() drops that queue: a reader
 * slower than the writer lost the closing lines. Exiting explicitly (not by letting the event loop
 * run dry) still matters, because Dawn's instance can keep the loop alive.
 */
export async function exitWhenWritten(code: number): Promise<never> {
  process.exitCode = code;
  await whenWritten();
  process.exit(code);
}

/** Resolves once stdout and stderr have taken everything written to them so far. */
export async function whenWritten(): Promise<void> {
  const written = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));
  await Promise.all([written(process.stdout), written(process.stderr)]);
}

/**
 * A reader that went away (`sgas golden DIR | head`) is not a failure of the command: what it would
 * have printed goes nowhere, as a closed pipe asks, and the work and its files still complete.
 */
export function toleratePipesClosed(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
    });
  }
}
