/**
 * The interpreter a command runs, or the one error that says why there is
 * none: not found, not runnable (naming the flag or PLEXICHAT_PYTHON that
 * pointed at it), too old, or (for `test`) without pytest.
 */
import { CliError, UsageError, WorkFailedError } from '../errors.js';
import type { FindPythonOptions, PythonInfo } from './discover.js';
import { projectImports } from './imports.js';
import { findPythonCached } from './probe-cache.js';
import { MIN_PYTHON_TEXT, tooOld } from './version.js';

export const DEBIAN_PYTEST = 'sudo apt-get install -y python3-pytest';

/** The error for a pinned interpreter (--python or PLEXICHAT_PYTHON) that does not run. */
export function notRunnableError(pinned: { path: string; source: 'flag' | 'env' }, detail?: string): CliError {
  const why = detail ? ` (${detail})` : '';
  if (pinned.source === 'flag') {
    return new UsageError(`--python ${pinned.path} is not a runnable Python interpreter${why}`, {
      code: 'PYTHON_NOT_FOUND',
      hint: 'pass the path of a python3 executable, e.g. --python /usr/bin/python3',
    });
  }
  return new WorkFailedError(`PLEXICHAT_PYTHON=${pinned.path} is not a runnable Python interpreter${why}`, {
    code: 'PYTHON_NOT_FOUND',
    hint: 'point PLEXICHAT_PYTHON at a python3 executable, or unset it to search PATH',
  });
}

export function tooOldError(python: string, version: string): CliError {
  return new WorkFailedError(`${python} is Python ${version}; the plugin SDK needs Python ${MIN_PYTHON_TEXT} or newer`, {
    code: 'PYTHON_TOO_OLD',
    hint: 'install a newer python3, or point --python / PLEXICHAT_PYTHON at one',
  });
}

/**
 * An interpreter that runs, is new enough and has pytest (preferring, on
 * PATH, one that can import every module the project imports: see
 * findPython); else the error that says which of these failed.
 */
export async function choosePytestPython(
  opts: Omit<FindPythonOptions, 'wantPytest' | 'modules'> & { cwd: string; alsoNeeds?: string[] },
): Promise<PythonInfo & { tried: string[]; missing: string[] }> {
  // What the run needs besides the project's imports (pytest_cov for --coverage) counts in the choice too.
  const modules = [...(await projectImports(opts.cwd)), ...(opts.alsoNeeds ?? [])];
  const { alsoNeeds: _alsoNeeds, ...find } = opts;
  const found = await findPythonCached({ ...find, modules, wantPytest: true, venv: true });
  if (!found.ok) {
    if (found.reason === 'not-runnable') {
      throw notRunnableError({ path: found.path!, source: opts.explicit !== undefined ? 'flag' : 'env' });
    }
    throw new WorkFailedError('no Python interpreter found (looked for python3 and python on PATH)', {
      code: 'PYTHON_NOT_FOUND',
      hint: `install Python ${MIN_PYTHON_TEXT}+ and pytest: sudo apt-get install -y python3 python3-pytest (or set PLEXICHAT_PYTHON / --python)`,
    });
  }
  const py = found.python;
  if (tooOld(py.version)) throw tooOldError(py.path, py.version);
  if (!py.pytest) {
    throw new WorkFailedError(`pytest is not installed for ${py.path} (Python ${py.version})`, {
      code: 'PYTEST_NOT_FOUND',
      hint: `install it: ${DEBIAN_PYTEST}  (Debian/Ubuntu)  or  ${py.path} -m pip install pytest`,
      details: { python: py.path, tried: found.tried },
    });
  }
  return { ...py, tried: found.tried };
}
