/**
 * `build --out <dir>` that cannot be written: one mapping
 * (io/fs-errors.ts outputDirError) for opening and for committing the
 * archive. A full disk says so and points at another disk; anything else
 * is CANNOT_WRITE with the problem's own hint and --out as the way out.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it, onTestFinished } from 'vitest';
import { outputDirError } from '../../src/io/fs-errors.js';
import { hasStackTrace } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';

async function plugin(): Promise<string> {
  const root = await tempDir();
  const dir = path.join(root, 'plugin');
  const r = await runMain(['init', dir, '--name', 'out_plugin', '--category', 'utility', '--yes']);
  expect(r.exitCode, r.stderr).toBe(0);
  return dir;
}

/** A tmpfs at dir (root only); false when this machine cannot mount. */
async function mountTmpfs(dir: string, options: string): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  const ok = (await execa('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { reject: false })).exitCode === 0;
  if (ok) onTestFinished(async () => void (await execa('umount', [dir], { reject: false })));
  return ok;
}

async function build(dir: string, out: string) {
  const r = await runMain(['--json', 'build', '--out', out], { cwd: dir });
  expect(r.exitCode, r.stdout).toBe(1);
  expect(hasStackTrace(r.stderr)).toBe(false);
  return JSON.parse(r.stdout).error as { code: string; message: string; hint: string; errno?: string };
}

describe('build --out that cannot be written', () => {
  it('the archive path is a folder (EISDIR): CANNOT_WRITE, the folder kept, no hint about disk space', async () => {
    const dir = await plugin();
    await fs.mkdir(path.join(dir, 'dist', 'out_plugin-0.1.0.zip', 'x'), { recursive: true });
    const e = await build(dir, 'dist');
    expect(e).toMatchObject({ code: 'CANNOT_WRITE', errno: 'EISDIR' });
    expect(e.message).toMatch(/^cannot write the archive to .*dist: it is a folder, not a file \(EISDIR\); nothing was written$/);
    expect(e.hint).toBe('move the folder out of the way, or choose another path, or pass --out <dir>');
    expect(e.hint).not.toMatch(/disk space/);
    expect(await fs.readdir(path.join(dir, 'dist'))).toEqual(['out_plugin-0.1.0.zip']);
  });

  it('read-only (EROFS) and full (ENOSPC) folders: one line each, nothing left', async () => {
    const dir = await plugin();
    await fs.writeFile(path.join(dir, 'src', 'blob.bin'), randomBytes(3 * 1024 * 1024));
    const ro = path.join(dir, '..', 'ro');
    const full = path.join(dir, '..', 'full');
    await fs.mkdir(ro);
    await fs.mkdir(full);
    if (!(await mountTmpfs(ro, 'ro,size=1m')) || !(await mountTmpfs(full, 'size=1m'))) {
      expect(process.getuid?.(), 'only root without mount rights may skip the tmpfs cases').not.toBe(0);
      return;
    }
    const r = await build(dir, ro);
    expect(r).toMatchObject({ code: 'CANNOT_WRITE', errno: 'EROFS', hint: 'use a folder on a writable disk, or pass --out <dir>' });
    expect(r.message).toBe(`cannot write to ${ro}: the file system is read-only (EROFS); nothing was written`);
    const f = await build(dir, full);
    expect(f).toMatchObject({ code: 'NO_SPACE', hint: 'free some disk space, or pass --out <dir> on another disk' });
    expect(f.message).toBe(`no space left on the device while writing to ${full}; nothing was written`);
    expect(await fs.readdir(full)).toEqual([]);
  });

  it('the mapping for every filesystem code: space problems say what happened, the rest CANNOT_WRITE with --out', () => {
    const at = { action: 'write the archive to dist', dir: 'dist', flag: '--out <dir>', suffix: '; nothing was written' };
    const err = (code: string) => Object.assign(new Error(code), { code, path: 'dist/x.zip' });
    expect(outputDirError(err('ENOSPC'), at)).toMatchObject({
      code: 'NO_SPACE',
      message: 'no space left on the device while writing to dist; nothing was written',
    });
    expect(outputDirError(err('EDQUOT'), at)).toMatchObject({
      code: 'NO_SPACE',
      message: 'the disk quota is used up while writing to dist; nothing was written',
    });
    for (const code of ['EACCES', 'EPERM', 'EROFS', 'EISDIR', 'ENOTDIR', 'ELOOP', 'ENAMETOOLONG', 'EMFILE', 'EIO', 'EXDEV']) {
      const e = outputDirError(err(code), at)!;
      expect(e.code, code).toBe('CANNOT_WRITE');
      expect(e.message, code).toMatch(new RegExp(`^cannot write the archive to dist: .+ \\(${code}\\); nothing was written$`));
      expect(e.hint, code).toMatch(/, or pass --out <dir>$/);
      expect(e.hint, code).not.toMatch(/disk space/);
    }
    expect(outputDirError(new Error('not a filesystem error'), at)).toBeUndefined();
  });
});
