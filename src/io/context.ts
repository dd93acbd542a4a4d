import { fstatSync } from 'node:fs';
import path from 'node:path';
import type { Output } from './output.js';

export interface GlobalFlags {
  json: boolean;
  verbose: boolean;
  quiet: boolean;
  color: boolean;
  /** -C <dir>: run as if started in this directory. */
  cwd?: string;
  marketplace?: string;
  /** --target NAME: a named marketplace (marketplace/targets.ts). */
  target?: string;
}

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Everything a command may touch outside its arguments. Tests build their own. */
export interface Ctx {
  /**
   * Where the command works: for a project command the plugin root found
   * upward from `start`, else `start`. Defaults (build's dist/) live here.
   */
  cwd: string;
  /**
   * The start directory: -C <dir>, else the process's directory. Every path
   * the user types resolves here, through userPath.
   */
  start: string;
  env: NodeJS.ProcessEnv;
  out: Output;
  flags: GlobalFlags;
  /** True when prompts may be shown: stdin is a TTY and CI is unset (and no --yes). */
  interactive: boolean;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  clock: Clock;
  /** Aborted on SIGINT/SIGTERM so long work can stop and clean up. */
  signal: AbortSignal;
  /**
   * What fds 1 and 2 are, by device and inode, so build never packs its own
   * output; absent for streams without a fd. A function, called only by the
   * commands that need it: fstat-ing the standard streams while every command
   * starts broke a later CommonJS import (yaml's named exports read as
   * undefined in `validate`, Node 20.20), so it is never done eagerly.
   */
  stdio?: () => StdioFiles;
}

/**
 * A path the user typed (a flag or an argument) as an absolute path: what
 * their shell means by it, relative to the directory they ran the command in
 * (with -C <dir>, relative to <dir>), never to the plugin root found upward.
 * The one place a typed path is resolved (README, Global options).
 */
export function userPath(ctx: Pick<Ctx, 'start'>, given: string): string {
  return path.resolve(ctx.start, given);
}

/**
 * A program the user typed (--python): a bare name (`python3.12`) stays a
 * name for the PATH lookup, anything with a slash is a path (userPath).
 */
export function userProgram(ctx: Pick<Ctx, 'start'>, given: string | undefined): string | undefined {
  return given === undefined || !given.includes('/') ? given : userPath(ctx, given);
}

/** A standard stream's file: a regular file, a pipe (FIFO), or anything else (a terminal). */
export interface StdioFile {
  dev: number;
  ino: number;
  kind: 'file' | 'fifo' | 'other';
}

export interface StdioFiles {
  stdout?: StdioFile;
  stderr?: StdioFile;
}

/** fstat the file descriptors behind stdout and stderr (streams without one, as in tests, give nothing). */
export function stdioFiles(streams: { stdout: object; stderr: object }): StdioFiles {
  const one = (s: object): StdioFile | undefined => {
    const fd = (s as { fd?: unknown }).fd;
    if (typeof fd !== 'number') return undefined;
    try {
      // bigint: the plain form shares a stat buffer with the module loader (see Ctx.stdio).
      const st = fstatSync(fd, { bigint: true });
      return { dev: Number(st.dev), ino: Number(st.ino), kind: st.isFile() ? 'file' : st.isFIFO() ? 'fifo' : 'other' };
    } catch {
      return undefined;
    }
  };
  return { stdout: one(streams.stdout), stderr: one(streams.stderr) };
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      // An aborted sleep rejects with the signal's own reason, as node:timers/promises does.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      if (signal?.aborted) return reject(signal.reason);
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(t);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the signal's own reason, as above
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export function isCI(env: NodeJS.ProcessEnv): boolean {
  const ci = env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}
