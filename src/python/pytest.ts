/**
 * Running a plugin's pytest suite: the command line, the environment (the
 * bundled SDK and the plugin root on PYTHONPATH, the manifest handed over as
 * JSON), live streaming of pytest's output, a timeout that stops the whole
 * process tree, and the summary read from pytest's JUnit XML report.
 *
 * No CLI dependencies: streams, env and signal come from the caller.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseJunitXml, type PytestSummary } from './junit.js';
import { startPython } from './spawn.js';

/** Environment variable through which the SDK receives the manifest (a JSON file path). */
export const MANIFEST_JSON_ENV = 'PLEXICHAT_PLUGIN_MANIFEST_JSON';

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
  /** The parsed manifest, handed to the SDK as JSON. */
  manifest?: unknown;
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
    const a = args[i]!;
    const m = /^--junit-?xml=(.+)$/.exec(a);
    if (m) found = m[1];
    else if ((a === '--junitxml' || a === '--junit-xml') && i + 1 < args.length) found = args[++i];
  }
  return found === undefined ? undefined : path.resolve(cwd, found);
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    // The child leads its own process group (detached), so this reaches
    // every process pytest started too.
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export async function runPytest(opts: RunPytestOptions): Promise<RunPytestResult> {
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'plexichat-pytest-'));
  const started = Date.now();
  try {
    // The user's own --junitxml wins (pytest keeps the last one); read that one then.
    const own = userJunitPath(opts.args, opts.cwd);
    const junit = own ?? path.join(scratch, 'junit.xml');
    const env: NodeJS.ProcessEnv = {
      ...opts.env,
      PYTHONPATH: buildPythonPath([sdkPythonPath(), opts.cwd], opts.env.PYTHONPATH),
    };
    if (opts.manifest !== undefined) {
      const manifestFile = path.join(scratch, 'manifest.json');
      await fs.writeFile(manifestFile, JSON.stringify(opts.manifest));
      env[MANIFEST_JSON_ENV] = manifestFile;
    }
    const extraReports = opts.reports?.(scratch) ?? { args: [], files: [] };
    const args = ['-m', 'pytest', ...(own ? [] : [`--junitxml=${junit}`]), ...(opts.extraArgs ?? []), ...extraReports.args, ...opts.args];
    const command = [opts.python, ...args];

    let timedOut = false;
    let cancelled = false;
    const { child: sub, exit } = startPython(opts.python, args, {
      cwd: opts.cwd,
      env,
      detached: true,
      stdout: opts.stdout,
      stderr: opts.stderr,
    });

    const grace = opts.killGraceMs ?? 3000;
    let graceTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      killGroup(sub.pid, 'SIGTERM');
      graceTimer = setTimeout(() => killGroup(sub.pid, 'SIGKILL'), grace);
    };
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          stop();
        }, opts.timeoutMs)
      : undefined;
    const onAbort = () => {
      cancelled = true;
      stop();
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });

    const r = await exit;
    if (timer) clearTimeout(timer);
    if (graceTimer) clearTimeout(graceTimer);
    opts.signal?.removeEventListener('abort', onAbort);
    // Anything of the run still alive after a stop is killed for good.
    if (timedOut || cancelled) killGroup(sub.pid, 'SIGKILL');

    let summary: PytestSummary | undefined;
    let reportError: string | undefined;
    const xml = await fs.readFile(junit, 'utf8').catch(() => undefined);
    if (xml !== undefined && xml.trim() !== '') {
      try {
        summary = parseJunitXml(xml);
      } catch (err) {
        reportError = (err as Error).message;
      }
    }
    const reports: Record<string, string> = {};
    for (const f of extraReports.files) {
      const text = await fs.readFile(f, 'utf8').catch(() => undefined);
      if (text !== undefined) reports[path.basename(f)] = text;
    }
    return {
      exitCode: r.code ?? undefined,
      signal: r.signal ?? undefined,
      timedOut,
      cancelled,
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
