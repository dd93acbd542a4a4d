/**
 * Which Python interpreter the CLI runs, shared by `validate` (the code scan)
 * and `test` (pytest). Order: an explicit path (--python), PLEXICHAT_PYTHON,
 * then every python3 / python on PATH in PATH order, preferring (for `test`)
 * one that has pytest.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { runPython } from './spawn.js';

export interface PythonInfo {
  path: string;
  version: string;
  /** pytest version, when importable. */
  pytest?: string;
  /** Where the path came from: flag, env, or PATH. */
  source: 'flag' | 'env' | 'path';
}

function isExecutable(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
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

/** A pinned interpreter (flag, then PLEXICHAT_PYTHON), resolved against cwd when relative. */
export function pinnedPython(
  env: NodeJS.ProcessEnv,
  explicit: string | undefined,
  cwd = '.',
): { path: string; source: 'flag' | 'env' } | undefined {
  const pinned = explicit ?? (env.PLEXICHAT_PYTHON || undefined);
  if (!pinned) return undefined;
  const p = path.isAbsolute(pinned) || !pinned.includes('/') ? pinned : path.resolve(cwd, pinned);
  return { path: p, source: explicit ? 'flag' : 'env' };
}

const PROBE =
  'import sys,json\n' +
  'v="%d.%d.%d"%sys.version_info[:3]\n' +
  'try:\n import pytest; p=pytest.__version__\n' +
  'except Exception: p=None\n' +
  'print(json.dumps({"version":v,"pytest":p}))';

export async function probePython(p: string, env: NodeJS.ProcessEnv): Promise<Omit<PythonInfo, 'source'> | undefined> {
  const r = await runPython(p, ['-c', PROBE], { env, timeoutMs: 20_000 });
  if (r.code !== 0) return undefined;
  try {
    const info = JSON.parse(r.stdout.trim()) as { version?: unknown; pytest?: unknown } | null;
    // Anything else that prints JSON is not a Python interpreter answering this probe.
    if (typeof info?.version !== 'string' || !/^\d+\.\d+\.\d+$/.test(info.version)) return undefined;
    return { path: p, version: info.version, pytest: typeof info.pytest === 'string' ? info.pytest : undefined };
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
  cwd?: string;
}

export type FindPythonResult =
  | { ok: true; python: PythonInfo; tried: string[] }
  | { ok: false; reason: 'not-found' | 'not-runnable'; tried: string[]; path?: string };

export async function findPython(opts: FindPythonOptions): Promise<FindPythonResult> {
  const pinned = pinnedPython(opts.env, opts.explicit, opts.cwd);
  if (pinned) {
    const { path: p, source } = pinned;
    const info = await probePython(p, opts.env);
    if (!info) return { ok: false, reason: 'not-runnable', tried: [p], path: p };
    return { ok: true, python: { ...info, source }, tried: [p] };
  }
  const tried: string[] = [];
  let first: PythonInfo | undefined;
  for (const p of pathCandidates(opts.env)) {
    tried.push(p);
    const info = await probePython(p, opts.env);
    if (!info) continue;
    const found: PythonInfo = { ...info, source: 'path' };
    if (!opts.wantPytest || found.pytest) return { ok: true, python: found, tried };
    first ??= found;
  }
  if (first) return { ok: true, python: first, tried };
  return { ok: false, reason: 'not-found', tried };
}

/** True when `python -c "import <module>"` succeeds (e.g. pytest_cov for --coverage). */
export async function hasModule(python: string, module: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(module)) throw new Error(`not a module name: ${module}`);
  const r = await runPython(python, ['-c', `import ${module}`], { env, timeoutMs: 20_000 });
  return r.code === 0;
}
