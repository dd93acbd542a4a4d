/**
 * The interpreter `test` chose for a project, remembered so that a warm
 * `test` starts no probe process (each costs a Python start, and a pyenv
 * shim a shell start on top). The key covers what decides the choice: the
 * pin (--python / PLEXICHAT_PYTHON), every candidate on PATH (path, size,
 * modification time), pyenv's and virtualenv's selectors (PYENV_VERSION,
 * VIRTUAL_ENV, CONDA_PREFIX, the nearest .python-version) and the modules the
 * project imports. On a hit, every interpreter probed and each of its
 * site-packages folders must still have the modification time it had (a
 * package installed or removed changes its folder), else it is a miss.
 * Same place and switch as the scan cache (PLEXICHAT_CACHE_DIR=off).
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { findPython, pathCandidates, venvCandidates, type FindPythonOptions, type FindPythonResult } from './discover.js';
import { cacheDir, readCached, writeCached } from '../io/cache.js';

type Found = Extract<FindPythonResult, { ok: true }>;

async function mtime(p: string): Promise<number | null> {
  return (await stat(p).catch(() => undefined))?.mtimeMs ?? null;
}

/** The nearest .python-version (pyenv's per-project selector), from dir upward. */
async function pythonVersionFile(dir: string): Promise<string | null> {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const text = await readFile(path.join(d, '.python-version'), 'utf8').catch(() => undefined);
    if (text !== undefined) return text.trim();
    if (path.dirname(d) === d) return null;
  }
}

async function keyOf(opts: FindPythonOptions): Promise<string> {
  const [candidates, versionFile] = await Promise.all([
    Promise.all(
      [...(opts.venv ? venvCandidates(opts.env, opts.cwd) : []), ...pathCandidates(opts.env)].map(async (c) => {
        const st = await stat(c).catch(() => undefined);
        return [c, st?.size, st?.mtimeMs];
      }),
    ),
    pythonVersionFile(opts.cwd ?? '.'),
  ]);
  const { env } = opts;
  const doc = {
    v: 1,
    pin: [opts.explicit ?? null, env.PLEXICHAT_PYTHON ?? null],
    candidates,
    selectors: [env.PYENV_VERSION ?? null, env.VIRTUAL_ENV ?? null, env.CONDA_PREFIX ?? null, versionFile],
    modules: opts.modules ?? [],
    wantPytest: !!opts.wantPytest,
    venv: !!opts.venv,
  };
  return createHash('sha256').update(JSON.stringify(doc)).digest('hex');
}

/** Paths whose modification time must be unchanged for the choice to stand. */
function stamped(found: Found): string[] {
  return found.probes.flatMap((p) => [p.path, ...p.sites]);
}

/** findPython, remembered per project while nothing it depends on changed. */
export async function findPythonCached(opts: FindPythonOptions & { cwd: string }): Promise<FindPythonResult> {
  const dir = cacheDir(opts.env);
  if (!dir) return findPython(opts);
  const key = await keyOf(opts);
  const hit = await readCached<{ found: Found; stamps: [string, number | null][] }>(dir, opts.cwd, key, 'python');
  if (hit && (await Promise.all(hit.stamps.map(async ([p, t]) => (await mtime(p)) === t))).every(Boolean)) return hit.found;
  const found = await findPython(opts);
  if (found.ok) {
    const stamps = await Promise.all(stamped(found).map(async (p) => [p, await mtime(p)] as [string, number | null]));
    await writeCached(dir, opts.cwd, key, { found, stamps }, 'python');
  }
  return found;
}
