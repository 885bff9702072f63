// Standard output and error as k6gate's commands write them (`k6gate run`'s stream of k6's
// output and its verdict, `check`, --help): in order, and none of it lost when the process exits
// right after. Bun's process.stdout keeps what a slow pipe has not taken yet in a buffer that
// process.exit drops (a verdict line behind 64 KiB of k6 output, read by a busy CI log
// collector, never arrived; `fs.writeSync` throws EAGAIN on a non-blocking pipe). Each write is
// queued on Bun.write, which waits for the reader; `flushStdio` resolves once all are out. A
// reader that went away (`k6gate run … | head`) ends the writing quietly, as SIGPIPE would,
// without changing the exit code; any other failure (a full disk) is said once.

export interface StdStream {
  write(chunk: string | Uint8Array): void;
}

interface QueuedStream extends StdStream {
  /** Resolves once every write queued so far is out (or the stream was given up). */
  flushed(): Promise<void>;
}

// `file` is looked up on the first write: a daemon that never writes here opens nothing.
function stdStream(name: string, file: () => Bun.BunFile): QueuedStream {
  let tail = Promise.resolve();
  let closed = false;
  const writeOne = async (chunk: string | Uint8Array) => {
    if (closed) return;
    try {
      await Bun.write(file(), chunk);
    } catch (err) {
      closed = true; // nothing more is written there
      // EPIPE: nobody reads any more. Anything else (a full disk) is said once, on the console.
      if ((err as NodeJS.ErrnoException).code !== 'EPIPE')
        console.error(`k6gate: cannot write to ${name}: ${(err as Error).message}`);
    }
  };
  return {
    write(chunk) {
      // Bun.write of nothing truncates a file (stdout redirected to one lost all before it).
      if (chunk.length === 0) return;
      // A copy: the bytes a reader handed over may be its buffer, filled again by its next read.
      const data = typeof chunk === 'string' ? chunk : chunk.slice();
      tail = tail.then(() => writeOne(data));
    },
    flushed: () => tail,
  };
}

const outStream = stdStream('standard output', () => Bun.stdout);
const errStream = stdStream('standard error', () => Bun.stderr);
export const stdout: StdStream = outStream;
export const stderr: StdStream = errStream;

/** Resolves once everything written so far through `stdout` and `stderr` is out. */
export async function flushStdio(): Promise<void> {
  await Promise.all([outStream.flushed(), errStream.flushed()]);
}
