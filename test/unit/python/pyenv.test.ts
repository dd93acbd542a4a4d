import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pyenvTarget } from '../../../src/python/pyenv.js';
import { tempDir, writeTree } from '../../helpers/temp-project.js';

/** pyenv's own shim text for a root (what `pyenv rehash` writes). */
const shim = (root: string) =>
  [
    '#!/usr/bin/env bash',
    'set -e',
    '[ -n "$PYENV_DEBUG" ] && set -x',
    '',
    'program="${0##*/}"',
    '',
    `export PYENV_ROOT="${root}"`,
    'SHIM_PATH=${0%/*}',
    `if [[ $SHIM_PATH != "${root}/shims" ]]; then`,
    '  export _PYENV_SHIM_PATH="$SHIM_PATH"',
    'fi',
    `exec "${root}/libexec/pyenv" exec "$program" "$@"`,
    '',
  ].join('\n');

/** A pyenv root with versions 3.11.7 and 3.12.1 (python3 in each), global version 3.11.7, and a project folder. */
async function pyenvRoot() {
  const dir = await fs.realpath(await tempDir());
  const root = path.join(dir, 'pyenv');
  await writeTree(root, {
    shims: { python3: shim(root), pip: shim(root) },
    libexec: { pyenv: '#!/usr/bin/env bash\n' },
    versions: { '3.11.7': { bin: { python3: '#!/bin/sh\n' } }, '3.12.1': { bin: { python3: '#!/bin/sh\n' } } },
    version: '3.11.7\n',
    'pyenv.d': { exec: { 'pip-rehash.bash': '# acts on pip\n' } },
  });
  for (const v of ['3.11.7', '3.12.1']) await fs.chmod(path.join(root, 'versions', v, 'bin', 'python3'), 0o755);
  const project = path.join(dir, 'project');
  await fs.mkdir(project);
  const env = { PATH: `${root}/shims:/usr/bin` };
  return { root, project, env, python3: path.join(root, 'shims', 'python3') };
}

describe('pyenvTarget: the interpreter a pyenv shim selects, read as pyenv reads it', () => {
  it('takes the global version file, a .python-version above the run folder, then PYENV_VERSION', async () => {
    const { root, project, env, python3 } = await pyenvRoot();
    expect(pyenvTarget(python3, env, project)).toBe(path.join(root, 'versions', '3.11.7', 'bin', 'python3'));
    await fs.writeFile(path.join(path.dirname(project), '.python-version'), '# pinned\n\n3.12.1  # comment\n');
    expect(pyenvTarget(python3, env, project)).toBe(path.join(root, 'versions', '3.12.1', 'bin', 'python3'));
    expect(pyenvTarget(python3, { ...env, PYENV_VERSION: '3.11.7' }, project)).toBe(path.join(root, 'versions', '3.11.7', 'bin', 'python3'));
  });

  it.each([
    ['system', 'system\n'],
    ['several versions', '3.12.1\n3.11.7\n'],
    ['a prefix pyenv latest would resolve', '3.12\n'],
    ['a version not installed', '3.9.1\n'],
    ['an empty file', ''],
    ['a path', '../../x\n'],
  ])('leaves the shim to decide %s', async (_why, text) => {
    const { project, env, python3 } = await pyenvRoot();
    await fs.writeFile(path.join(project, '.python-version'), text);
    expect(pyenvTarget(python3, env, project)).toBeUndefined();
  });

  it('leaves the shim to decide with a hook it does not know, PYENV_DIR or PYENV_DEBUG, a program missing from the version, or not a shim', async () => {
    const { root, project, env, python3 } = await pyenvRoot();
    expect(pyenvTarget(python3, { ...env, PYENV_DIR: '/' }, project)).toBeUndefined();
    expect(pyenvTarget(python3, { ...env, PYENV_DEBUG: '1' }, project)).toBeUndefined();
    expect(pyenvTarget(path.join(root, 'shims', 'pip'), env, project)).toBeUndefined();
    expect(pyenvTarget(path.join(root, 'versions', '3.11.7', 'bin', 'python3'), env, project)).toBeUndefined();
    await fs.chmod(path.join(root, 'versions', '3.11.7', 'bin', 'python3'), 0o644);
    expect(pyenvTarget(python3, env, project)).toBeUndefined();
    await fs.chmod(path.join(root, 'versions', '3.11.7', 'bin', 'python3'), 0o755);
    await writeTree(path.join(root, 'plugins', 'own', 'etc', 'pyenv.d', 'which'), { 'mine.bash': 'PYENV_COMMAND_PATH=/elsewhere\n' });
    expect(pyenvTarget(python3, env, project)).toBeUndefined();
  });
});
