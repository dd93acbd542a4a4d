/**
 * Filesystem failures are one-line user errors with a hint, never an
 * "unexpected internal error" with a stack: one mapping (src/io/fs-errors.ts)
 * that every command reaches, tested across init, build, test, serve and
 * login on real conditions (files where folders should be, symlink loops,
 * over-long names, folders where files should be, tmpfs mounts as root for
 * EXDEV, EROFS and ENOSPC), and the mapping itself for every code.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it, onTestFinished } from 'vitest';
import { fsError } from '../../src/io/fs-errors.js';
import { hasStackTrace, runCli } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';

const INIT = ['--name', 'demo_plugin', '--category', 'utility', '--yes'];

function expectOneLine(r: { exitCode: number; stderr: string }, re: RegExp, exitCode = 1): void {
  expect(r.exitCode, r.stderr).toBe(exitCode);
  expect(r.stderr).toMatch(re);
  expect(r.stderr).not.toMatch(/unexpected internal error/);
  expect(hasStackTrace(r.stderr)).toBe(false);
  expect(r.stderr.split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
}

/** A tmpfs at dir (root only); false when this machine cannot mount. */
async function mountTmpfs(dir: string, options: string): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  const ok = (await execa('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { reject: false })).exitCode === 0;
  if (ok) onTestFinished(async () => void (await execa('umount', [dir], { reject: false })));
  return ok;
}

async function layout(): Promise<{ root: string; file: string; loop: string; long: string }> {
  const root = await tempDir();
  const file = path.join(root, 'a-file');
  await fs.writeFile(file, 'x');
  const loop = path.join(root, 'loop');
  await fs.symlink('loop', loop);
  return { root, file, loop, long: path.join(root, 'n'.repeat(300)) };
}

async function plugin(root: string): Promise<string> {
  const dir = path.join(root, 'plugin');
  expect((await runMain(['init', dir, ...INIT])).exitCode).toBe(0);
  return dir;
}

describe('init', () => {
  it('under a file (ENOTDIR), through a symlink loop (ELOOP), with a name too long (ENAMETOOLONG): one line, exit 1, nothing made', async () => {
    const { root, file, loop, long } = await layout();
    expectOneLine(await runMain(['init', path.join(file, 'x'), ...INIT]), /a part of the path is a file, not a folder \(ENOTDIR\)/);
    expectOneLine(await runMain(['init', path.join(loop, 'x'), ...INIT]), /too many levels of symbolic links.*\(ELOOP\)/);
    expectOneLine(await runMain(['init', path.join(long, 'x'), ...INIT]), /too long \(ENAMETOOLONG\)/);
    expect((await fs.readdir(root)).sort()).toEqual(['a-file', 'loop']);
  });

  it('into an empty mount point (another file system than its parent: EXDEV) creates the plugin', async () => {
    const { root } = await layout();
    const mnt = path.join(root, 'volume');
    await fs.mkdir(mnt);
    const mounted = await mountTmpfs(mnt, 'size=4m');
    const r = await runMain(['init', mnt, ...INIT]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await fs.readdir(mnt)).sort()).toEqual(['.gitignore', '.pluginignore', 'CHANGELOG.md', 'config', 'conftest.py', 'docs', 'src', 'tests', 'tox.ini']);
    // Nothing staged is left next to the mount point either.
    expect((await fs.readdir(root)).filter((n) => n.startsWith('.'))).toEqual([]);
    if (!mounted) expect(process.getuid?.()).not.toBe(0);
  });

  it('on a read-only file system (EROFS) and a full one (ENOSPC): one line, nothing left', async () => {
    const { root } = await layout();
    const ro = path.join(root, 'ro');
    const full = path.join(root, 'full');
    await fs.mkdir(ro);
    await fs.mkdir(full);
    if (!(await mountTmpfs(ro, 'ro,size=1m')) || !(await mountTmpfs(full, 'size=8k'))) {
      expect(process.getuid?.(), 'only root without mount rights may skip the tmpfs cases').not.toBe(0);
      return;
    }
    expectOneLine(await runMain(['init', path.join(ro, 'x'), ...INIT]), /the file system is read-only \(EROFS\); nothing was written/);
    expect(await fs.readdir(ro)).toEqual([]);
    const r = await runMain(['init', path.join(full, 'x'), '--template', 'analytics', ...INIT]);
    expectOneLine(r, /no space left on the device \(ENOSPC\); nothing was written/);
    expect(r.stderr).toMatch(/hint: free some disk space/);
    expect(await fs.readdir(full)).toEqual([]);
  });

  it('--force keeps a backup of each file it replaces', async () => {
    const { root } = await layout();
    const dir = await plugin(root);
    await fs.writeFile(path.join(dir, 'src', 'plugin.py'), '# my own work\n');
    const r = await runMain(['--json', 'init', dir, '--force', ...INIT]);
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { replaced: string[]; backup: string };
    expect(doc.replaced).toContain('src/plugin.py');
    expect(await fs.readFile(path.join(dir, doc.backup, 'src', 'plugin.py'), 'utf8')).toBe('# my own work\n');
    // The backup is never packed.
    const dry = await runMain(['--json', 'build', '--dry-run'], { cwd: dir });
    expect(dry.stdout).not.toMatch(/plexichat-backup/);
  });
});

describe('build', () => {
  it('--out under a file, through a loop, and onto a folder where the archive should go: one line each', async () => {
    const { root, file, loop } = await layout();
    const dir = await plugin(root);
    // A flag value that cannot be a folder is a usage error (exit 2, OUT_NOT_A_DIR).
    expectOneLine(await runMain(['build', '--out', path.join(file, 'sub')], { cwd: dir }), /inside a file/, 2);
    expectOneLine(await runMain(['build', '--out', loop], { cwd: dir }), /ELOOP/);
    await fs.mkdir(path.join(dir, 'dist', 'demo_plugin-0.1.0.zip'), { recursive: true });
    expectOneLine(await runMain(['build'], { cwd: dir }), /it is a folder, not a file \(EISDIR\); nothing was written/);
    const r = await runMain(['build'], { cwd: dir });
    expect(r.stderr).not.toMatch(/disk space/);
  });
});

describe('test', () => {
  it('with no usable temp folder (TMPDIR missing, or a file): one line naming it, exit 1', async () => {
    const { root, file } = await layout();
    const dir = await plugin(root);
    expectOneLine(await runCli(['test'], { cwd: dir, env: { TMPDIR: path.join(root, 'nonexistent') } }), /nonexistent.*\(ENOENT\)/);
    expectOneLine(await runCli(['test'], { cwd: dir, env: { TMPDIR: file } }), /\(ENOTDIR\)/);
  });
});

describe('marketplace serve and login', () => {
  it('serve with its data dir under a file or through a loop: one line, exit 1', async () => {
    const { file, loop } = await layout();
    expectOneLine(await runMain(['marketplace', 'serve', '--data-dir', path.join(file, 'x'), '--port', '0']), /not a directory|ENOTDIR/);
    expectOneLine(await runMain(['marketplace', 'serve', '--data-dir', path.join(loop, 'x'), '--port', '0']), /ELOOP/);
  });

  it('logout when the credentials path is a folder or under a file: one line, never a stack', async () => {
    const { root, file } = await layout();
    const cfg = path.join(root, 'cfg');
    await fs.mkdir(path.join(cfg, 'plexichat-plugin', 'credentials.json'), { recursive: true });
    for (const env of [{ XDG_CONFIG_HOME: cfg }, { XDG_CONFIG_HOME: file }]) {
      const r = await runMain(['marketplace', 'logout', '--marketplace', 'http://127.0.0.1:9'], { env });
      expect(r.stderr).not.toMatch(/unexpected internal error/);
      expect(hasStackTrace(r.stderr)).toBe(false);
    }
  });
});

describe('the mapping', () => {
  it('gives every code a message and a hint of its own (EISDIR never suggests freeing disk space)', () => {
    const codes = ['EXDEV', 'ENOTDIR', 'EROFS', 'EACCES', 'ENOSPC', 'EISDIR', 'ELOOP', 'ENAMETOOLONG', 'EMFILE'];
    const seen = new Set<string>();
    for (const code of codes) {
      const e = fsError(Object.assign(new Error(`${code}: x`), { code, path: '/p' }), 'write /p');
      expect(e, code).toBeDefined();
      expect(e!.message).toMatch(new RegExp(`^cannot write /p: .+ \\(${code}\\)$`));
      expect(e!.hint).toBeTruthy();
      expect(e!.exitCode).toBe(1);
      seen.add(e!.code);
    }
    expect(seen.size).toBeGreaterThanOrEqual(8);
    expect(fsError(Object.assign(new Error('x'), { code: 'EISDIR' }))!.hint).not.toMatch(/space/);
    expect(fsError(new Error('not a system error'))).toBeUndefined();
  });
});
