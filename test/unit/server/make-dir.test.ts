import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeDir } from '../../../src/io/make-dir.js';
import { tempDir } from '../../helpers/temp-project.js';

describe('makeDir (mkdir -p that always ends)', () => {
  it('returns the outermost folder it made, or undefined when the folder was there', async () => {
    const root = await tempDir();
    expect(await makeDir(path.join(root, 'a', 'b', 'c'))).toBe(path.join(root, 'a'));
    expect((await fs.stat(path.join(root, 'a', 'b', 'c'))).isDirectory()).toBe(true);
    expect(await makeDir(path.join(root, 'a', 'b'))).toBeUndefined();
    expect(await makeDir(path.join(root, 'a', 'b', 'd'))).toBe(path.join(root, 'a', 'b', 'd'));
  });

  it('names the file that is in the way (EEXIST for the folder itself, ENOTDIR for a parent)', async () => {
    const root = await tempDir({ f: 'x' });
    await expect(makeDir(path.join(root, 'f'))).rejects.toMatchObject({ code: 'EEXIST', path: path.join(root, 'f') });
    await expect(makeDir(path.join(root, 'f', 'x', 'y'))).rejects.toMatchObject({ code: 'ENOTDIR', path: path.join(root, 'f') });
    await fs.symlink(path.join(root, 'nowhere'), path.join(root, 'dangling'));
    await expect(makeDir(path.join(root, 'dangling', 'x'))).rejects.toMatchObject({ path: path.join(root, 'dangling') });
  });

  it('fails at once where the parent exists but refuses the child (/proc), instead of looping', async () => {
    await expect(makeDir('/proc/pxp-make-dir-test/a')).rejects.toMatchObject({ code: 'ENOENT', path: '/proc/pxp-make-dir-test' });
  });

  it('two makers of the same tree at once both succeed', async () => {
    const root = await tempDir();
    const dir = path.join(root, 'x', 'y', 'z');
    const made = await Promise.all([makeDir(dir), makeDir(dir), makeDir(dir)]);
    expect((await fs.stat(dir)).isDirectory()).toBe(true);
    expect(made.filter((m) => m !== undefined).length).toBeGreaterThanOrEqual(1);
  });
});

describe('no command that makes a folder spins on /proc (each is one line, exit 1)', () => {
  it('init, build --out, keys generate --out, serve --data-dir', async () => {
    const { runMain } = await import('../../helpers/run-main.js');
    const plugin = path.join(await tempDir(), 'p');
    expect((await runMain(['init', plugin, '--name', 'proc_plugin', '--category', 'utility', '--yes'])).exitCode).toBe(0);
    const runs = [
      await runMain(['init', '/proc/pxp-init/p', '--name', 'proc_plugin', '--category', 'utility', '--yes']),
      await runMain(['build', '--out', '/proc/pxp-out'], { cwd: plugin }),
      await runMain(['keys', 'generate', '--out', '/proc/pxp-keys/k.pem']),
      await runMain(['marketplace', 'serve', '--data-dir', '/proc/pxp-data']),
    ];
    for (const r of runs) {
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stderr.split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
      expect(r.stderr).toMatch(/ENOENT/);
    }
  });
});
