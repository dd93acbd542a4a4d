/**
 * Running a plugin's pytest suite: the command line, the environment (the
 * bundled SDK and the plugin root on PYTHONPATH, the manifest handed over as
 * JSON), live streaming of pytest's output, a timeout or cancel that stops
 * every process of the run it can find (reap.ts), and the summary read from
 * pytest's JUnit XML report. The SDK's pytest plugin is loaded with -p and writes its hook/endpoint
 * coverage to a file named by HOOK_COVERAGE_ENV (docs/sdk.md).
 *
 * pytest starts before the manifest is read: Python and pytest take far
 * longer to start than the CLI takes to read config/plugin.yaml, so the two
 * overlap. The SDK's plugin, on import (before any user code and before
 * pytest prints anything), waits on the pipe named by START_FD_ENV until the
 * CLI has written the manifest file and says "go"; pytest's output is held
 * until then. A manifest that cannot be read stops pytest unseen, and its
 * error is the one reported, as if pytest had never started. pytest's own
 * files stay out of the plugin folder: .coverage in the run's temp folder,
 * the pytest cache in the user cache dir, per project (or the temp folder
 * when the cache is off), so --lf still works; no bytecode is written.
 *
 * No CLI dependencies: streams, env and signal come from the caller.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PytestSummary } from './junit.js';
import { newRunMarker, RUN_MARKER_ENV, stopRun, type StopReport } from './reap.js';
import { cacheDir } from '../io/cache.js';
import { startPython } from './spawn.js';
import { makeDir } from '../io/make-dir.js';

/** Environment variable through which the SDK receives the manifest (a JSON file path). */
export const MANIFEST_JSON_ENV = 'PLEXICHAT_PLUGIN_MANIFEST_JSON';
/** Environment variable naming the fd on which the SDK's pytest plugin waits for the CLI's "go" (docs/sdk.md). */
export const START_FD_ENV = 'PLEXICHAT_PLUGIN_START_FD';
/** What the CLI writes on that fd; the pipe closing without it ends pytest quietly (the CLI is gone). */
const GO = 'go';
/** Environment variable naming the file the SDK's pytest plugin writes its hook/endpoint coverage to. */
export const HOOK_COVERAGE_ENV = 'PLEXICHAT_PLUGIN_COVERAGE_FILE';
/** The name of that file among RunPytestResult.reports. */
export const HOOK_COVERAGE_REPORT = 'hook-coverage.json';
const SDK_PYTEST_PLUGIN = 'plexichat_plugin_sdk.pytest_plugin';

/** Where the pytest cache of a project goes: its folder in the user cache; undefined when there is none (the scratch dir then). */
async function pytestFilesDir(cwd: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const base = cacheDir(env);
  if (!base) return undefined;
  const dir = path.join(base, 'pytest', createHash('sha256').update(path.resolve(cwd)).digest('hex').slice(0, 16));
  return makeDir(dir, { mode: 0o700 }).then(
    () => dir,
    () => undefined,
  );
}

/** The folder that holds the plexichat_plugin_sdk package. */
export function sdkPythonPath(): string {
  return fileURLToPath(new URL('../../sdk/python', import.meta.url));
}

export function buildPythonPath(parts: string[], existing: string | undefined): string {
  return [...parts, ...(existing ? existing.split(path.delimiter) : [])].filter(Boolean).join(path.delimiter);
}

export interface RunPytestOptions {
  python: string;
  /** The plugin root: pytest runs here. */
  cwd: string;
  /**
   * Reads the manifest to hand to the SDK as JSON; called once pytest has
   * started, which waits for it. A rejection stops pytest, drops whatever it
   * printed, and is rethrown.
   */
  manifest?: () => Promise<unknown>;
  /** Extra arguments for pytest (the user's, after --). */
  args: string[];
  /** Arguments the CLI adds before the user's (colour, coverage ...). */
  extraArgs?: string[];
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  timeoutMs?: number;
  /** How long after SIGTERM the process group gets SIGKILL. */
  killGraceMs?: number;
  signal?: AbortSignal;
  /**
   * Extra reports: given the scratch dir, the pytest arguments that write
   * them and the files to read back after the run.
   */
  reports?: (dir: string) => { args: string[]; files: string[] };
}

export interface RunPytestResult {
  /** pytest's exit code; undefined when it was killed. */
  exitCode?: number;
  signal?: string;
  timedOut: boolean;
  cancelled: boolean;
  /** After a timeout or cancel: what was stopped, and what could not be. */
  stopped?: StopReport;
  /** From the JUnit XML report; undefined when pytest wrote none (usage error, killed). */
  summary?: PytestSummary;
  /** Why the report could not be read, when it exists but is not JUnit XML. */
  reportError?: string;
  /** Extra files the caller asked for in the report dir, read before it is removed. */
  reports: Record<string, string>;
  /** Wall-clock time in seconds. */
  wallSeconds: number;
  /** The full command line, for --verbose. */
  command: string[];
}

/** The report path of a --junitxml / --junit-xml among the user's pytest arguments. */
export function userJunitPath(args: string[], cwd: string): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const m = /^--junit-?xml=(.+)$/.exec(a);
    if (m) found = m[1];
    else if ((a === '--junitxml' || a === '--junit-xml') && i + 1 < args.length) found = args[++i];
  }
  return found === undefined ? undefined : path.resolve(cwd, found);
}

interface Supervised {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  cancelled: boolean;
  stopped?: StopReport;
}

/**
 * Run pytest in its own process group; on a timeout or cancel, stop every
 * process of the run (reap.ts). `started` runs once pytest is running; with
 * `gated`, pytest waits on fd 3 until it resolves, and its output is held
 * until then; when it rejects, pytest is stopped and the rejection rethrown.
 */
async function supervise(
  python: string,
  args: string[],
  opts: RunPytestOptions,
  env: NodeJS.ProcessEnv,
  run: { gated: boolean; started: () => Promise<void> },
): Promise<Supervised> {
  const marker = newRunMarker();
  const { child, exit } = startPython(python, args, {
    cwd: opts.cwd,
    env: { ...env, [RUN_MARKER_ENV]: marker, ...(run.gated ? { [START_FD_ENV]: '3' } : {}) },
    detached: true,
    fd3: run.gated,
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  let why: 'timeout' | 'cancel' | undefined;
  let stopping: Promise<StopReport> | undefined;
  let stopDone: () => void = () => undefined;
  const stopped = new Promise<undefined>((res) => (stopDone = () => res(undefined)));
  const stop = (reason: 'timeout' | 'cancel') => {
    if (stopping || child.pid === undefined) return;
    why = reason;
    stopping = stopRun(child.pid, marker, opts.killGraceMs ?? 3000, () => exited);
    // A process the stop could not reach may still hold pytest's output pipes open.
    void stopping.then(() => setTimeout(stopDone, 500));
  };
  const timer = opts.timeoutMs ? setTimeout(() => stop('timeout'), opts.timeoutMs) : undefined;
  const onAbort = () => stop('cancel');
  const release = () => {
    if (timer) clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  };
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  const failed = await run.started().then(
    () => undefined,
    (err: unknown) => ({ err }),
  );
  if (failed) {
    // Nothing of this run is shown: its output is dropped, its processes stopped.
    child.stdout?.resume();
    child.stderr?.resume();
    if (child.pid !== undefined && !exited) await (stopping ?? stopRun(child.pid, marker, 0, () => exited));
    await exit;
    release();
    throw failed.err;
  }
  const go = child.stdio[3] as NodeJS.WritableStream | null | undefined;
  if (go) {
    go.on('error', () => undefined); // a pytest that already ended (or never loaded the plugin) does not read it
    go.end(GO);
  }
  child.stdout?.pipe(opts.stdout, { end: false });
  child.stderr?.pipe(opts.stderr, { end: false });

  let r = await Promise.race([exit, stopped]);
  if (!r) {
    child.stdout?.destroy();
    child.stderr?.destroy();
    r = await exit;
  }
  release();
  return { code: r.code, signal: r.signal, timedOut: why === 'timeout', cancelled: why === 'cancel', stopped: await stopping };
}

export async function runPytest(opts: RunPytestOptions): Promise<RunPytestResult> {
  const cacheFiles = pytestFilesDir(opts.cwd, opts.env);
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'plexichat-pytest-'));
  const started = Date.now();
  try {
    // The user's own --junitxml wins (pytest keeps the last one); read that one then.
    const own = userJunitPath(opts.args, opts.cwd);
    const junit = own ?? path.join(scratch, 'junit.xml');
    const ownFiles = (await cacheFiles) ?? scratch;
    const hookCoverage = path.join(scratch, HOOK_COVERAGE_REPORT);
    const env: NodeJS.ProcessEnv = {
      ...opts.env,
      PYTHONPATH: buildPythonPath([sdkPythonPath(), opts.cwd], opts.env.PYTHONPATH),
      [HOOK_COVERAGE_ENV]: hookCoverage,
      COVERAGE_FILE: opts.env.COVERAGE_FILE ?? path.join(scratch, '.coverage'),
    };
    // No bytecode in the plugin folder: none is written during the run (the
    // plugin's own modules compile in milliseconds). A PYTHONPYCACHEPREFIX
    // instead would move the reads of the standard library's and pytest's
    // bytecode too: a cold compile of all of it per project (about a second),
    // and on every run where PYTHONDONTWRITEBYTECODE is set. A prefix the user
    // set is theirs.
    if (!opts.env.PYTHONPYCACHEPREFIX) env.PYTHONDONTWRITEBYTECODE = '1';
    const noCache = opts.args.some((a, i) => /^(-p)?no:cacheprovider$/.test(a) && (a.startsWith('-p') || opts.args[i - 1] === '-p'));
    const ownArgs = ['-p', SDK_PYTEST_PLUGIN, ...(noCache ? [] : ['-o', `cache_dir=${path.join(ownFiles, 'cache')}`])];
    const manifestFile = path.join(scratch, 'manifest.json');
    const handOver = async () => {
      if (opts.manifest) await fs.writeFile(manifestFile, JSON.stringify(await opts.manifest()));
    };
    if (opts.manifest) env[MANIFEST_JSON_ENV] = manifestFile;
    // Without fd 3 to wait on (Windows), pytest starts once the manifest is there.
    const gated = opts.manifest !== undefined && process.platform !== 'win32';
    if (!gated) await handOver();
    const extraReports = opts.reports?.(scratch) ?? { args: [], files: [] };
    const args = ['-m', 'pytest', ...(own ? [] : [`--junitxml=${junit}`]), ...ownArgs, ...(opts.extraArgs ?? []), ...extraReports.args, ...opts.args];
    const command = [opts.python, ...args];

    // The report reader is loaded while pytest runs, not after it.
    let reader: Promise<typeof import('./junit.js')> | undefined;
    const whileRunning = async () => {
      if (gated) await handOver();
      reader = import('./junit.js');
      reader.catch(() => undefined); // a failed load is reported where it is awaited
    };
    const r = await supervise(opts.python, args, opts, env, { gated, started: whileRunning });

    let summary: PytestSummary | undefined;
    let reportError: string | undefined;
    const extraFiles = [...extraReports.files, hookCoverage];
    const [xml, ...texts] = await Promise.all([junit, ...extraFiles].map((f) => fs.readFile(f, 'utf8').catch(() => undefined)));
    if (xml !== undefined && xml.trim() !== '') {
      try {
        summary = (await reader!).parseJunitXml(xml);
      } catch (err) {
        reportError = (err as Error).message;
      }
    }
    const reports: Record<string, string> = {};
    extraFiles.forEach((f, i) => {
      if (texts[i] !== undefined) reports[path.basename(f)] = texts[i];
    });
    return {
      exitCode: r.code ?? undefined,
      signal: r.signal ?? undefined,
      timedOut: r.timedOut,
      cancelled: r.cancelled,
      stopped: r.stopped,
      summary,
      reportError,
      reports,
      wallSeconds: Math.round((Date.now() - started) / 10) / 100,
      command,
    };
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}
