/**
 * One interpreter check, one behaviour: whatever PLEXICHAT_PYTHON points at
 * (not a Python, missing, a folder, a file that cannot be run, Python 2, a
 * Python 3 below the minimum), validate, build and test say the same one
 * line with the same hint and exit 1, and never print the scanner's code.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasStackTrace } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';
import { writeSources } from './marketplace-plugin.js';

/** A plugin project (the marketplace tests' sources) with one test for `test` to run. */
async function project(): Promise<string> {
  const dir = await tempDir({ tests: { 'test_x.py': 'def test_x():\n    pass\n' } });
  await writeSources(dir, { name: 'pinned_plugin' });
  return dir;
}

/**
 * A Python 2.7 as the CLI meets it: `-I` (which the scanner uses) is an
 * unknown option, and the probe's Python 2-compatible answer says 2.7.18.
 */
const PYTHON2 = `#!/bin/sh
case "$1" in
  -I) echo "Unknown option: -I" >&2; echo "usage: python [option] ... [-c cmd | -m mod | file | -] [arg] ..." >&2; echo "Try \\\`python -h' for more information." >&2; exit 2;;
  -c) echo '{"version": "2.7.18", "pytest": "4.6.11", "executable": "/usr/bin/python2.7", "sites": [], "missing": []}';;
  *) exit 2;;
esac
`;
const PYTHON37 = `#!/bin/sh
case "$1" in
  -I) exit 3;;
  *) echo '{"version": "3.7.16", "pytest": "7.4.4", "sites": [], "missing": []}';;
esac
`;

const NOT_RUNNABLE = (p: string) => `PLEXICHAT_PYTHON=${p} is not a runnable Python interpreter`;
const NOT_RUNNABLE_HINT = 'point PLEXICHAT_PYTHON at a python3 executable, or unset it to search PATH';
const TOO_OLD = (p: string, v: string) => `${p} is Python ${v}; the plugin SDK needs Python 3.8 or newer`;

async function pins() {
  const bin = await tempDir();
  const file = async (name: string, text: string, mode: number) => {
    const p = path.join(bin, name);
    await fs.writeFile(p, text, { mode });
    return p;
  };
  return {
    notPython: '/bin/ls',
    missing: path.join(bin, 'nonexistent', 'python3'),
    folder: bin,
    notExecutable: await file('python3-noexec', PYTHON37, 0o644),
    empty: await file('python3-empty', '', 0o755),
    python2: await file('python2.7', PYTHON2, 0o755),
    python37: await file('python3.7', PYTHON37, 0o755),
  };
}

describe('PLEXICHAT_PYTHON: validate, build and test agree', () => {
  it('on every pin that is not a usable interpreter: the same line, the same hint, exit 1', async () => {
    const p = await pins();
    const expected: [pin: string, message: string, hint: string, code: string][] = [
      [p.notPython, NOT_RUNNABLE(p.notPython), NOT_RUNNABLE_HINT, 'PYTHON_NOT_FOUND'],
      [p.missing, NOT_RUNNABLE(p.missing), NOT_RUNNABLE_HINT, 'PYTHON_NOT_FOUND'],
      [p.folder, NOT_RUNNABLE(p.folder), NOT_RUNNABLE_HINT, 'PYTHON_NOT_FOUND'],
      [p.notExecutable, NOT_RUNNABLE(p.notExecutable), NOT_RUNNABLE_HINT, 'PYTHON_NOT_FOUND'],
      [p.empty, NOT_RUNNABLE(p.empty), NOT_RUNNABLE_HINT, 'PYTHON_NOT_FOUND'],
      [p.python2, TOO_OLD(p.python2, '2.7.18'), 'install a newer python3, or point --python / PLEXICHAT_PYTHON at one', 'PYTHON_TOO_OLD'],
      [p.python37, TOO_OLD(p.python37, '3.7.16'), 'install a newer python3, or point --python / PLEXICHAT_PYTHON at one', 'PYTHON_TOO_OLD'],
    ];
    const dir = await project();
    for (const [pin, message, hint, code] of expected) {
      for (const cmd of ['validate', 'build', 'test']) {
        const r = await runMain([cmd], { cwd: dir, env: { PLEXICHAT_PYTHON: pin } });
        const what = `${cmd} with ${pin}: ${r.stderr}`;
        expect(r.exitCode, what).toBe(1);
        expect(
          r.stderr.split('\n').filter((l) => l.startsWith('error: ')),
          what,
        ).toEqual([`error: ${message}`]);
        expect(r.stderr, what).toContain(`hint: ${hint}`);
        expect(r.stderr, what).not.toMatch(/import ast|scan\.py|def |sys\.argv|Unknown option/);
        expect(hasStackTrace(r.stderr), what).toBe(false);
        const j = await runMain(['--json', cmd], { cwd: dir, env: { PLEXICHAT_PYTHON: pin } });
        expect(JSON.parse(j.stdout).error, `${cmd} --json with ${pin}`).toMatchObject({ code, message });
      }
      await expect(fs.readdir(path.join(dir, 'dist'))).rejects.toThrow();
    }
  });

  it('--python on test is the same check, worded for the flag', async () => {
    const p = await pins();
    const dir = await project();
    const r = await runMain(['test', '--python', p.folder], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`error: --python ${p.folder} is not a runnable Python interpreter`);
    const old = await runMain(['test', '--python', p.python2], { cwd: dir });
    expect(old.exitCode).toBe(1);
    expect(old.stderr).toContain(`error: ${TOO_OLD(p.python2, '2.7.18')}`);
  });

  it('a Python 2 found on PATH (none pinned): test refuses it by its version; validate names the version in its skipped-checks warning', async () => {
    const p = await pins();
    const bin = await tempDir();
    await fs.symlink(p.python2, path.join(bin, 'python'));
    const dir = await project();
    const env = { PLEXICHAT_PYTHON: undefined, PATH: bin };
    const t = await runMain(['test'], { cwd: dir, env });
    expect(t.exitCode).toBe(1);
    expect(t.stderr).toContain(`error: ${TOO_OLD(path.join(bin, 'python'), '2.7.18')}`);
    const v = await runMain(['--json', 'validate'], { cwd: dir, env });
    expect(v.exitCode).toBe(0);
    const doc = JSON.parse(v.stdout);
    expect(doc.codeChecks).toBe('skipped');
    expect(doc.warnings).toEqual([
      expect.objectContaining({
        code: 'CODE_CHECKS_SKIPPED',
        message: `no usable Python interpreter (${path.join(bin, 'python')}: Python 2.7.18; 3.8 or newer is needed): the code checks were skipped`,
      }),
    ]);
  });
});
