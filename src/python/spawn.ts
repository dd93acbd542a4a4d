/**
 * The one way the CLI starts a Python process (node:child_process, no
 * shell): `runPython` collects the output of a short run (probe, scan),
 * `startPython` streams a long one (pytest) into the caller's streams.
 * stdin is closed (or carries the given input, or stays open as a pipe for
 * the plugin host's control channel); the environment is exactly the one given.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface PythonExit {
  /** The exit code; null when the process was killed by a signal or never started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why it did not start or was stopped: a system error code (ENOENT, EACCES ...), 'ETIMEDOUT' or 'ENOBUFS'. */
  error?: string;
}

export interface PythonRun extends PythonExit {
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Own process group, so the caller can signal everything the run started. */
  detached?: boolean;
  /** Streams to copy the output into (left open); otherwise the caller reads child.stdout/stderr. */
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /**
   * Written to stdin, which is then closed; without it stdin is closed from the start.
   * A promise is written when it settles (the process starts meanwhile); when it rejects, the process is killed.
   */
  input?: string | Promise<string>;
  /** 'pipe': keep stdin open for the caller to write to (child.stdin). */
  stdin?: 'ignore' | 'pipe';
  /** Open a fourth pipe, the child's fd 3, for the caller to write to (child.stdio[3]). */
  fd3?: boolean;
}

export interface StartedPython {
  child: ChildProcess;
  /** Settles when the process has exited and its output is drained; never rejects. */
  exit: Promise<PythonExit>;
}

export function startPython(file: string, args: string[], opts: SpawnOptions): StartedPython {
  const child = spawn(file, args, {
    cwd: opts.cwd,
    env: opts.env,
    stdio: [opts.input === undefined && opts.stdin !== 'pipe' ? 'ignore' : 'pipe', 'pipe', 'pipe', ...(opts.fd3 ? ['pipe' as const] : [])],
    detached: opts.detached ?? false,
    windowsHide: true,
  });
  if (opts.input !== undefined) {
    child.stdin?.on('error', () => undefined); // a process that exits without reading: its exit code tells
    if (typeof opts.input === 'string') child.stdin?.end(opts.input);
    else
      opts.input.then(
        (text) => child.stdin?.end(text),
        () => child.kill('SIGKILL'),
      );
  }
  if (opts.stdout) child.stdout?.pipe(opts.stdout, { end: false });
  if (opts.stderr) child.stderr?.pipe(opts.stderr, { end: false });
  const exit = new Promise<PythonExit>((resolve) => {
    let spawnError: string | undefined;
    child.once('error', (err: NodeJS.ErrnoException) => {
      spawnError = err.code ?? err.message;
      // A process that never started emits no 'close' on every Node version.
      if (child.pid === undefined) resolve({ code: null, signal: null, error: spawnError });
    });
    child.once('close', (code, signal) => resolve({ code, signal, error: spawnError }));
  });
  return { child, exit };
}

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Killed (SIGKILL) after this long; error 'ETIMEDOUT'. */
  timeoutMs: number;
  /** Killed when stdout or stderr grows past this; error 'ENOBUFS'. */
  maxBytes?: number;
  input?: string | Promise<string>;
}

/** Run to completion and collect stdout and stderr. */
export async function runPython(file: string, args: string[], opts: RunOptions): Promise<PythonRun> {
  const { child, exit } = startPython(file, args, { env: opts.env, cwd: opts.cwd, input: opts.input });
  const max = opts.maxBytes ?? 64 * 1024 * 1024;
  let stopped: string | undefined;
  const kill = (why: string) => {
    stopped ??= why;
    child.kill('SIGKILL');
  };
  const collect = (stream: NodeJS.ReadableStream | null) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream?.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) kill('ENOBUFS');
      else chunks.push(c);
    });
    return () => Buffer.concat(chunks).toString('utf8');
  };
  const out = collect(child.stdout);
  const err = collect(child.stderr);
  const timer = setTimeout(() => kill('ETIMEDOUT'), opts.timeoutMs);
  const r = await exit;
  clearTimeout(timer);
  return { ...r, error: r.error ?? stopped, stdout: out(), stderr: err() };
}
