/**
 * The interpreter a pyenv shim on PATH would run, found by reading the
 * files pyenv itself reads, so a short Python run (the code scan, the
 * interpreter probe) does not start bash and pyenv's scripts first (about
 * 0.2 s per run on this machine kind, against 0.06 s for Python itself).
 *
 * Only the plain case is decided here, as pyenv decides it: the shim is
 * pyenv's own (in `$PYENV_ROOT/shims`), one version is selected (by
 * PYENV_VERSION, else the nearest .python-version from the run's folder up,
 * else `$PYENV_ROOT/version`), that version is installed under that exact
 * name and has the program as an executable, and no hook script could change
 * the choice (only pyenv's and pyenv-virtualenv's own hooks, which act on pip,
 * conda and missing programs, are known). Anything else (`system`, several
 * versions, a prefix that `pyenv latest` would resolve, PYENV_DIR,
 * PYENV_DEBUG, an unknown hook, a symlinked working folder) answers
 * undefined and the shim runs as before.
 */
import { accessSync, closeSync, constants, openSync, readdirSync, readSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';

/** Hook scripts known not to change which python* runs: pip-rehash acts on pip/easy_install/conda and `-m pip`; the `which` hooks only when the program is missing. */
const HARMLESS_HOOKS = new Set(['exec/pip-rehash.bash', 'which/python-config.bash', 'which/system-site-packages.bash', 'which/conda.bash']);
const HOOKED = ['exec', 'which', 'version-name'];
const SYSTEM_HOOK_DIRS = ['/usr/etc/pyenv.d', '/usr/local/etc/pyenv.d', '/etc/pyenv.d', '/usr/lib/pyenv/hooks'];

function head(file: string, max = 4096): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const buf = Buffer.alloc(max);
    return buf.subarray(0, readSync(fd, buf, 0, max, 0)).toString('latin1');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const isDir = (p: string) => statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
const list = (dir: string) => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** PYENV_ROOT of a pyenv shim for `program` (its own folder's parent), or undefined when `file` is not one. */
function shimRoot(file: string, program: string): string | undefined {
  const text = head(file);
  if (!text?.startsWith('#!/usr/bin/env bash\n')) return undefined;
  const root = /\nexport PYENV_ROOT="([^"$`\\\n]+)"\n/.exec(text)?.[1];
  if (!root || !text.includes(`\nexec "${root}/libexec/pyenv" exec "$program" "$@"`)) return undefined;
  return path.dirname(file) === path.join(root, 'shims') && /^python[0-9.]*$/.test(program) ? root : undefined;
}

/** Every hook that pyenv would source for exec, which and version-name is a known harmless one. */
function hooksHarmless(root: string, env: NodeJS.ProcessEnv): boolean {
  const dirs = [
    ...(env.PYENV_HOOK_PATH ?? '').split(':').filter(Boolean),
    path.join(root, 'pyenv.d'),
    ...SYSTEM_HOOK_DIRS,
    ...list(path.join(root, 'plugins')).map((p) => path.join(root, 'plugins', p, 'etc', 'pyenv.d')),
  ];
  return dirs.every((d) => HOOKED.every((cmd) => list(path.join(d, cmd)).every((f) => !f.endsWith('.bash') || HARMLESS_HOOKS.has(`${cmd}/${f}`))));
}

/** What pyenv-version-file-read makes of a file: the first word of each line, comments skipped, joined with ':'. */
function readVersionFile(file: string): string | undefined {
  const text = head(file, 64 * 1024);
  if (text === undefined) return undefined;
  const words = text
    .split('\n')
    .map((l) => l.replace(/\r/g, ' ').trim().split(/\s+/)[0])
    .filter((w) => w && !w.startsWith('#'));
  return words.join(':');
}

/** The selected version as pyenv-version-name reads it ('' for none), or undefined when it cannot be decided here. */
function selectedVersion(root: string, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  if (env.PYENV_VERSION) return env.PYENV_VERSION;
  let dir: string;
  try {
    dir = realpathSync(cwd);
    // bash keeps an inherited PWD that names the same folder by another (symlinked) path, and walks up from it.
    if (env.PWD && env.PWD !== dir && path.isAbsolute(env.PWD) && realpathSync(env.PWD) === dir) return undefined;
  } catch {
    return undefined;
  }
  for (let d = dir; ; d = path.dirname(d)) {
    const f = path.join(d, '.python-version');
    if (statSync(f, { throwIfNoEntry: false })?.isFile()) return readVersionFile(f) ?? '';
    if (path.dirname(d) === d) break;
  }
  const global = path.join(root, 'version');
  return statSync(global, { throwIfNoEntry: false }) ? (readVersionFile(global) ?? '') : '';
}

/**
 * The executable a pyenv shim would exec for this run (run in `cwd` with
 * `env`), or undefined when `file` is not a pyenv shim or the choice is not
 * the plain case above.
 */
export function pyenvTarget(file: string, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  if (env.PYENV_DEBUG || env.PYENV_DIR) return undefined;
  const program = path.basename(file);
  const root = shimRoot(file, program);
  if (!root) return undefined;
  try {
    // pyenv installed elsewhere than its root adds its own hook folders: not the plain case.
    if (path.dirname(path.dirname(realpathSync(path.join(root, 'libexec', 'pyenv')))) !== realpathSync(root)) return undefined;
  } catch {
    return undefined;
  }
  const version = selectedVersion(root, env, cwd);
  if (!version || version === 'system' || version.includes(':') || version.includes('/') || version === '..' || version === '.') return undefined;
  const prefix = path.join(root, 'versions', version);
  if (!isDir(prefix)) return undefined;
  const target = path.join(prefix, 'bin', program);
  if (!executable(target) || !hooksHarmless(root, env)) return undefined;
  return target;
}
