/**
 * Python interpreter discovery, shared by `validate` (code checks) and
 * `test` (pytest). Order: an explicit path (--python), PLEXICHAT_PYTHON,
 * then python3 / python on PATH, preferring one that has pytest when asked.
 */
import path from 'node:path';
import { execa } from 'execa';
import { pathCandidates, pinnedPython } from './python-path.js';

export interface PythonInfo {
  path: string;
  version: string;
  /** pytest version, when importable. */
  pytest?: string;
  /** Where the path came from: flag, env, or PATH. */
  source: 'flag' | 'env' | 'path';
}

const PROBE =
  'import sys,json\n' +
  'v="%d.%d.%d"%sys.version_info[:3]\n' +
  'try:\n import pytest; p=pytest.__version__\n' +
  'except Exception: p=None\n' +
  'print(json.dumps({"version":v,"pytest":p}))';

export { pathCandidates } from './python-path.js';

export async function probePython(p: string, env: NodeJS.ProcessEnv): Promise<Omit<PythonInfo, 'source'> | undefined> {
  const r = await execa(p, ['-c', PROBE], { reject: false, env, extendEnv: false, timeout: 20_000, stdin: 'ignore' });
  if (r.exitCode !== 0 || r.failed) return undefined;
  try {
    const info = JSON.parse(String(r.stdout).trim()) as { version: string; pytest: string | null };
    return { path: p, version: info.version, pytest: info.pytest ?? undefined };
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
  const r = await execa(python, ['-c', `import ${module}`], {
    reject: false,
    env,
    extendEnv: false,
    timeout: 20_000,
    stdin: 'ignore',
  });
  return r.exitCode === 0 && !r.failed;
}
