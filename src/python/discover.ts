/**
 * Which Python interpreter the CLI runs, shared by `validate` (the code scan)
 * and `test` (pytest). Order: an explicit path (--python), PLEXICHAT_PYTHON,
 * (for `test` and `dev`) the plugin's own virtual environment, then every
 * python3 / python on PATH in PATH order, preferring (for `test`) one that
 * has pytest.
 */
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { pyenvTarget } from './pyenv.js';
import { runPython } from './spawn.js';
import { tooOld } from './version.js';

export interface PythonInfo {
  path: string;
  version: string;
  /** pytest version, when importable. */
  pytest?: string;
  /** Where the path came from: flag, env, the plugin's virtual environment, or PATH. */
  source: 'flag' | 'env' | 'venv' | 'path';
}

export function isExecutable(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * A version manager's launcher (a pyenv or asdf shim: a short script that
 * runs `pyenv exec` / `asdf exec`), which starts a shell and the manager
 * before Python on every run.
 */
export function isLauncher(p: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(p, 'r');
    const buf = Buffer.alloc(4096);
    const head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('latin1');
    return head.startsWith('#!') && /\b(pyenv|asdf)"?\s+exec\b/.test(head);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Every python3/python on PATH, in PATH order, without duplicates. */
export function pathCandidates(env: NodeJS.ProcessEnv): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const name of ['python3', 'python']) {
    for (const dir of dirs) {
      const p = path.join(dir, name);
      if (!seen.has(p) && isExecutable(p)) {
        seen.add(p);
        out.push(p);
      }
    }
  }
  return out;
}

/** Where a plugin keeps its own virtual environment: an activated one ($VIRTUAL_ENV), else these folders of the project. */
export const VENV_FOLDERS = ['.venv', 'plugin-env'] as const;

/** The python of each of the plugin's virtual environments that exists, in that order, without duplicates. */
export function venvCandidates(env: NodeJS.ProcessEnv, cwd = '.'): string[] {
  const dirs = [env.VIRTUAL_ENV, ...VENV_FOLDERS.map((f) => path.resolve(cwd, f))].filter((d): d is string => !!d && path.isAbsolute(d));
  const out: string[] = [];
  for (const d of dirs) {
    const p = path.join(d, 'bin', 'python');
    if (!out.includes(p) && isExecutable(p)) out.push(p);
  }
  return out;
}

/** A pinned interpreter (flag, then PLEXICHAT_PYTHON), resolved against cwd when relative. */
export function pinnedPython(env: NodeJS.ProcessEnv, explicit: string | undefined, cwd = '.'): { path: string; source: 'flag' | 'env' } | undefined {
  const pinned = explicit ?? (env.PLEXICHAT_PYTHON || undefined);
  if (!pinned) return undefined;
  const p = path.isAbsolute(pinned) || !pinned.includes('/') ? pinned : path.resolve(cwd, pinned);
  return { path: p, source: explicit ? 'flag' : 'env' };
}

/**
 * One Python process answers: its version, pytest's, the real executable
 * (behind a launcher such as a pyenv shim), its site-packages folders, and
 * which of the modules named on its command line it cannot find (find_spec:
 * nothing is imported).
 */
const PROBE = [
  // Python 2 syntax too, so an old interpreter says its version (and is refused as too old, not as not runnable).
  'import sys, json, site',
  'v = "%d.%d.%d" % sys.version_info[:3]',
  'try:',
  '    import pytest; p = pytest.__version__',
  'except Exception:',
  '    p = None',
  'def gone(m):',
  '    try:',
  '        import importlib.util',
  '        return importlib.util.find_spec(m) is None',
  '    except Exception:',
  '        return True',
  'try:',
  '    sites = site.getsitepackages() + [site.getusersitepackages()]',
  'except Exception:',
  '    sites = []',
  'print(json.dumps({"version": v, "pytest": p, "executable": sys.executable, "sites": sites, "missing": [m for m in sys.argv[1:] if gone(m)]}))',
].join('\n');

export interface ProbeInfo {
  /** What to run: the interpreter's real executable when the candidate was a launcher (isLauncher). */
  path: string;
  version: string;
  pytest?: string;
  /** Of the modules asked about, those it cannot import. */
  missing: string[];
  /** Where its packages live (what changes when one is installed). */
  sites: string[];
}

/** The process's folder, or undefined when it was deleted under it. */
function currentDir(): string | undefined {
  try {
    return process.cwd();
  } catch {
    return undefined;
  }
}

export async function probePython(
  p: string,
  env: NodeJS.ProcessEnv,
  opts: { cwd?: string; modules?: string[]; real?: boolean } = {},
): Promise<ProbeInfo | undefined> {
  const where = opts.cwd ?? currentDir();
  // (A process whose folder was deleted runs the shim itself: pyenv decides from there as it would.)
  const run = (where === undefined ? undefined : pyenvTarget(p, env, where)) ?? p;
  const r = await runPython(run, ['-c', PROBE, ...(opts.modules ?? [])], { env, cwd: opts.cwd, timeoutMs: 20_000 });
  if (r.code !== 0) return undefined;
  try {
    const info = JSON.parse(r.stdout.trim()) as Record<string, unknown> | null;
    // Anything else that prints JSON is not a Python interpreter answering this probe.
    if (typeof info?.version !== 'string' || !/^\d+\.\d+\.\d+$/.test(info.version)) return undefined;
    const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
    const exe = typeof info.executable === 'string' && path.isAbsolute(info.executable) && isExecutable(info.executable) ? info.executable : p;
    return {
      path: opts.real && isLauncher(p) ? exe : p,
      version: info.version,
      pytest: typeof info.pytest === 'string' ? info.pytest : undefined,
      missing: strings(info.missing),
      sites: strings(info.sites),
    };
  } catch {
    return undefined;
  }
}

export interface FindPythonOptions {
  env: NodeJS.ProcessEnv;
  /** --python flag: used as given, never replaced by another interpreter. */
  explicit?: string;
  /** Prefer (among PATH candidates) one that can import pytest. */
  wantPytest?: boolean;
  /** The project: probes run there (a pyenv .python-version applies) and relative pins resolve against it. */
  cwd?: string;
  /** Modules the project imports: among PATH candidates with pytest, prefer one that can import them all. */
  modules?: string[];
  /**
   * Look in the plugin's own virtual environment first ($VIRTUAL_ENV, then
   * .venv/ and plugin-env/ in cwd): its python is taken when it runs, is new
   * enough and (when wanted) has pytest.
   */
  venv?: boolean;
}

export type FindPythonResult =
  | { ok: true; python: PythonInfo & { missing: string[] }; tried: string[]; probes: ProbeInfo[] }
  | { ok: false; reason: 'not-found' | 'not-runnable'; tried: string[]; path?: string };

/**
 * The rule: a pinned interpreter (--python, then PLEXICHAT_PYTHON) is used
 * as given. Otherwise the python3/python candidates on PATH are probed in
 * PATH order, and the first that runs, is new enough, has pytest (when wanted) and can
 * import every module the project imports is taken; when none can import
 * them all, the one with pytest missing the fewest (PATH order breaks ties);
 * without pytest anywhere, the first that runs. A pyenv/asdf shim found on
 * PATH is run as the interpreter it selects (it costs a shell start per run;
 * the probe itself reads a plain pyenv choice from pyenv's files: pyenv.ts).
 */
export async function findPython(opts: FindPythonOptions): Promise<FindPythonResult> {
  const pinned = pinnedPython(opts.env, opts.explicit, opts.cwd);
  const probe = { cwd: opts.cwd, modules: opts.modules };
  if (pinned) {
    const { path: p, source } = pinned;
    const info = await probePython(p, opts.env, probe);
    if (!info) return { ok: false, reason: 'not-runnable', tried: [p], path: p };
    return { ok: true, python: { ...info, source }, tried: [p], probes: [info] };
  }
  const tried: string[] = [];
  const probes: ProbeInfo[] = [];
  for (const p of opts.venv ? venvCandidates(opts.env, opts.cwd) : []) {
    tried.push(p);
    const info = await probePython(p, opts.env, probe);
    if (!info) continue;
    probes.push(info);
    if (!tooOld(info.version) && (!opts.wantPytest || info.pytest)) return { ok: true, python: { ...info, source: 'venv' }, tried, probes };
  }
  let best: ProbeInfo | undefined;
  // A new-enough interpreter first; one too old is taken only when nothing else runs (and then refused as too old).
  const rank = (i: ProbeInfo) => (tooOld(i.version) ? 1e9 : 0) + (opts.wantPytest && !i.pytest ? 1e6 : 0) + i.missing.length;
  for (const p of pathCandidates(opts.env)) {
    tried.push(p);
    const info = await probePython(p, opts.env, { ...probe, real: true });
    if (!info) continue;
    probes.push(info);
    if (!best || rank(info) < rank(best)) best = info;
    if (rank(info) === 0) break;
  }
  if (best) return { ok: true, python: { ...best, source: 'path' }, tried, probes };
  return { ok: false, reason: 'not-found', tried };
}

/** True when `python -c "import <module>"` succeeds (e.g. pytest_cov for --coverage). */
export async function hasModule(python: string, module: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(module)) throw new Error(`not a module name: ${module}`);
  const r = await runPython(python, ['-c', `import ${module}`], { env, timeoutMs: 20_000 });
  return r.code === 0;
}
