/**
 * A reader that goes away before the CLI has written everything
 * (`plexichat-plugin … | head -1`, `| grep -q`, a pager quit): the next write
 * to that stream fails with EPIPE, reported as an 'error' event on the stream.
 * Node ignores SIGPIPE, so without a listener that event is an uncaught
 * exception with a stack trace.
 *
 * The boundary (cli/main.ts) watches stdout and stderr for the whole run. The
 * first failed write on either (EPIPE, or EIO/ECONNRESET from a terminal or
 * socket that closed) means the reader is gone: the output is muted, the
 * running command is cancelled as by Ctrl-C (its files are written atomically
 * or not at all), and the CLI exits with 141, the status a shell reports for a
 * process ended by SIGPIPE (docs/exit-codes.md), without a word.
 */

/** The exit status of a run whose reader went away: 128 + SIGPIPE (13), as a shell reports it. */
export const READER_GONE_EXIT = 141;

export interface PipeWatch {
  /** True once a write to a watched stream failed. */
  readonly gone: boolean;
  /**
   * Waits until the errors of writes already made have been reported (they come
   * on a later tick than the write), so the exit code can be chosen.
   */
  settle(): Promise<void>;
}

type Watchable = {
  on?(event: 'error', listener: (err: Error) => void): unknown;
  once?(event: string, listener: () => void): unknown;
  removeListener?(event: string, listener: () => void): unknown;
  writableLength?: number;
};

/** Resolves once the stream has no write pending (a pipe's big write ends, or fails, a loop turn later). */
function drained(s: Watchable): Promise<void> {
  if (!s.writableLength || !s.once) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      for (const e of ['drain', 'error', 'close', 'finish']) s.removeListener?.(e, done);
      resolve();
    };
    for (const e of ['drain', 'error', 'close', 'finish']) s.once!(e, done);
  });
}

export function watchClosedPipes(streams: readonly Watchable[], onGone: () => void): PipeWatch {
  let gone = false;
  // The listeners stay attached for the life of the process: every later write
  // to the closed stream fails again, and each failure must stay quiet.
  const listener = () => {
    if (gone) return;
    gone = true;
    onGone();
  };
  const watched = [...new Set(streams)];
  for (const s of watched) s.on?.('error', listener);
  return {
    get gone() {
      return gone;
    },
    async settle() {
      await Promise.all(watched.map(drained));
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
  };
}
