import type { Output } from './io/output.js';

export interface GlobalFlags {
  json: boolean;
  verbose: boolean;
  quiet: boolean;
  color: boolean;
  /** -C <dir>: run as if started in this directory. */
  cwd?: string;
  marketplace?: string;
}

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Everything a command may touch outside its arguments. Tests build their own. */
export interface Ctx {
  cwd: string;
  env: NodeJS.ProcessEnv;
  out: Output;
  flags: GlobalFlags;
  /** True when prompts may be shown: stdin is a TTY and CI is unset (and no --yes). */
  interactive: boolean;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  clock: Clock;
  /** Aborted on SIGINT/SIGTERM so long work can stop and clean up. */
  signal: AbortSignal;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(t);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export function isCI(env: NodeJS.ProcessEnv): boolean {
  const ci = env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

