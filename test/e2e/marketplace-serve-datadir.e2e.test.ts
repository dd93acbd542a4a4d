/**
 * `marketplace serve` and its data dir, as a class: every data dir that
 * cannot be used is one line and exit 1 (never a hang, a stack or an
 * internal error), and a start that fails for any reason leaves nothing it
 * made; tokens shared between roles are refused by the CLI and the server;
 * the default data dir is outside the project, a --data-dir inside one is
 * refused unless build never packs it.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import yauzl from 'yauzl';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startServer } from '../../src/server/index.js';
import { BIN, hasStackTrace, type CliResult } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';

function expectOneLine(r: CliResult, re: RegExp, exitCode = 1): void {
  expect(r.exitCode, r.stderr).toBe(exitCode);
  expect(r.stderr).toMatch(re);
  expect(r.stderr).not.toMatch(/unexpected internal error/);
  expect(hasStackTrace(r.stderr)).toBe(false);
  expect(r.stderr.split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
}

/** Every path below dir (folders end in /, links in @), without following links. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      if (e.isSymbolicLink()) out.push(`${rel}@`);
      else if (e.isDirectory()) {
        out.push(`${rel}/`);
        await walk(p);
      } else out.push(rel);
    }
  };
  await walk(dir);
  return out.sort();
}

/** A tmpfs at dir (root only); false when this machine cannot mount. */
async function mountTmpfs(dir: string, options: string): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  await fs.mkdir(dir, { recursive: true });
  const ok = (await execa('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { reject: false })).exitCode === 0;
  if (ok) onTestFinished(async () => void (await execa('umount', [dir], { reject: false })));
  return ok;
}

/** The entry names of a zip. */
function zipEntries(file: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error(`cannot open ${file}`));
      const names: string[] = [];
      zip.on('entry', (e: yauzl.Entry) => {
        names.push(e.fileName);
        zip.readEntry();
      });
      zip.once('end', () => resolve(names));
      zip.once('error', reject);
      zip.readEntry();
    });
  });
}

const serve = (dataDir: string, ...args: string[]) => runMain(['marketplace', 'serve', '--port', '0', '--data-dir', dataDir, ...args]);

/** A valid data dir made by a real start and stop (database, archives/, tmp/). */
async function usedDataDir(dir: string): Promise<void> {
  const h = await startServer({ dataDir: dir });
  await h.close();
}

describe('a data dir that cannot be used: one line, exit 1, nothing left', () => {
  it('a file, under a file, a dangling link, a link loop, a name too long', async () => {
    const root = await tempDir({ 'a-file': 'x' });
    await fs.symlink('loop', path.join(root, 'loop'));
    await fs.symlink(path.join(root, 'nowhere', 'at-all'), path.join(root, 'dangling'));
    const before = await tree(root);
    expectOneLine(await serve(path.join(root, 'a-file')), /a-file is not a directory/);
    expectOneLine(await serve(path.join(root, 'a-file', 'x', 'y')), /a-file is not a directory/);
    expectOneLine(await serve(path.join(root, 'dangling', 'data')), /dangling is not a directory/);
    expectOneLine(await serve(path.join(root, 'loop', 'data')), /symbolic links.*\(ELOOP\)/);
    expectOneLine(await serve(path.join(root, 'n'.repeat(300), 'data')), /too long \(ENAMETOOLONG\)/);
    expect(await tree(root)).toEqual(before);
  });

  it('a folder that cannot hold folders (/proc): an error at once, not a loop', async () => {
    // Node's recursive mkdir spins forever here (ENOENT although the parent exists).
    for (const dir of ['/proc/plexichat-x', '/proc/plexichat-x/a/b', '/proc/self/plexichat-x']) {
      expectOneLine(await serve(dir), /cannot hold new folders \(ENOENT\)/);
    }
  });

  it('parts of the data dir that are not what they must be (archives a file, marketplace.db a folder)', async () => {
    const root = await tempDir();
    const a = path.join(root, 'a');
    await usedDataDir(a);
    await fs.rm(path.join(a, 'archives'), { recursive: true });
    await fs.writeFile(path.join(a, 'archives'), 'x');
    const beforeA = await tree(a);
    expectOneLine(await serve(a), /archives is not a directory/);
    expect(await tree(a)).toEqual(beforeA);

    const b = path.join(root, 'b');
    await fs.mkdir(path.join(b, 'marketplace.db'), { recursive: true });
    expectOneLine(await serve(b), /cannot open .*marketplace\.db \(SQLITE_CANTOPEN\)/);
    // archives/ and tmp/ were made by this start, so they are gone again.
    expect(await tree(b)).toEqual(['marketplace.db/']);
  });

  it('a read-only file system (EROFS), empty or holding a marketplace, and a full one (ENOSPC)', async () => {
    const root = await tempDir();
    const ro = path.join(root, 'ro');
    const used = path.join(root, 'used');
    const full = path.join(root, 'full');
    const mounted = (await mountTmpfs(ro, 'ro,size=1m')) && (await mountTmpfs(used, 'size=8m')) && (await mountTmpfs(full, 'size=4k'));
    if (!mounted) {
      expect(process.getuid?.(), 'only a user who cannot mount may skip the tmpfs cases').not.toBe(0);
      return;
    }
    expectOneLine(await serve(ro), /file system is read-only \(EROFS\)/);
    expectOneLine(await serve(path.join(ro, 'sub')), /file system is read-only \(EROFS\)/);
    await usedDataDir(path.join(used, 'data'));
    const before = await tree(used);
    await execa('mount', ['-o', 'remount,ro', used]);
    expectOneLine(await serve(path.join(used, 'data')), /file system is read-only \(EROFS\)/);
    await execa('mount', ['-o', 'remount,rw', used]);
    expect(await tree(used)).toEqual(before);
    expectOneLine(await serve(path.join(full, 'data')), /no space left on the device \((ENOSPC|SQLITE_FULL)\)/);
    expect(await tree(full)).toEqual([]);
  });

  it('a folder the user may not write to (EACCES), run as another user', async () => {
    if (process.getuid?.() !== 0) return; // as a normal user the tree below is simply ours
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'pxp-eacces-'));
    onTestFinished(() => fs.rm(root, { recursive: true, force: true }));
    await fs.chmod(root, 0o755);
    await fs.mkdir(path.join(root, 'existing'));
    for (const dir of ['new', 'existing']) {
      const r = await execa(process.execPath, [BIN, 'marketplace', 'serve', '--data-dir', path.join(root, dir)], {
        uid: 65534,
        gid: 65534,
        reject: false,
        env: { NO_COLOR: '1', CI: '1', HOME: root },
        timeout: 30_000,
      });
      expectOneLine({ exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) }, /permission denied \(EACCES\)/);
    }
    expect(await tree(root)).toEqual(['existing/']);
  });

  it('a busy port or a bad host creates no data dir, and leaves an existing empty one empty', async () => {
    const root = await tempDir();
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    onTestFinished(() => void blocker.close());
    const port = String((blocker.address() as net.AddressInfo).port);
    const fresh = path.join(root, 'fresh', 'data');
    expectOneLine(await runMain(['marketplace', 'serve', '--port', port, '--data-dir', fresh]), /already in use/);
    await fs.mkdir(path.join(root, 'empty'));
    expectOneLine(await runMain(['marketplace', 'serve', '--port', port, '--data-dir', path.join(root, 'empty')]), /already in use/);
    expectOneLine(await runMain(['marketplace', 'serve', '--host', '192.0.2.1', '--data-dir', path.join(root, 'other')]), /no such local address/, 2);
    expect(await tree(root)).toEqual(['empty/']);
  });
});

describe('tokens: each role its own, what a Bearer header can carry', () => {
  it('the CLI refuses a token shared by two roles, short ones and ones a header cannot carry (exit 2, nothing made)', async () => {
    const root = await tempDir();
    const data = path.join(root, 'data');
    const cases: [string[], RegExp][] = [
      [['--developer-token', 'pcx_shared_token', '--reviewer-token', 'pcx_shared_token'], /same token .* developer and the reviewer role/],
      [['--developer-token', 'pcx_first_token', '--developer-token', 'pcx_second_token', '--reviewer-token', 'pcx_second_token'], /same token/],
      [['--developer-token', 'abc'], /at least 8 characters/],
      [['--reviewer-token', 'has a space in it'], /at least 8 characters/],
      [['--developer-token', 'pcx_tökén_long'], /printable ASCII/],
      [['--developer-token', 'pcx_tab\tinside_it'], /at least 8 characters/],
    ];
    for (const [flags, re] of cases) {
      const r = await serve(data, ...flags);
      expectOneLine(r, re, 2);
      // Never echo a token.
      for (const f of flags) if (!f.startsWith('--')) expect(r.stderr).not.toContain(f);
    }
    expect(await tree(root)).toEqual([]);
  });

  it('the server refuses the same (and starts with one token given twice for one role)', async () => {
    const root = await tempDir();
    const data = path.join(root, 'data');
    await expect(startServer({ dataDir: data, developerTokens: ['pcx_both_roles'], reviewerTokens: ['pcx_both_roles'] })).rejects.toThrow(
      /each role needs its own token/,
    );
    await expect(startServer({ dataDir: data, tokens: [{ token: 'pcx_spec_token', role: 'reviewer' }], developerTokens: ['pcx_spec_token'] })).rejects.toThrow(
      /each role needs its own token/,
    );
    expect(await tree(root)).toEqual([]);
    const h = await startServer({ dataDir: data, developerTokens: ['pcx_twice_given', 'pcx_twice_given'] });
    expect(h.tokens.developer).toEqual(['pcx_twice_given', 'pcx_twice_given']);
    await h.close();
  });
});

describe('where the data lives', () => {
  const PLUGIN = ['--name', 'datadir_plugin', '--category', 'utility', '--yes'];

  async function project(): Promise<{ root: string; plugin: string; home: string }> {
    const root = await tempDir();
    const plugin = path.join(root, 'plugin');
    expect((await runMain(['init', plugin, ...PLUGIN])).exitCode).toBe(0);
    const home = path.join(root, 'home');
    await fs.mkdir(home);
    return { root, plugin, home };
  }

  /** Start serve (spawned) in cwd, read its --json document, stop it with SIGTERM. */
  async function serveOnce(cwd: string, env: Record<string, string | undefined>, ...args: string[]): Promise<{ dataDir: string }> {
    const proc = execa(process.execPath, [BIN, '--json', 'marketplace', 'serve', ...args], {
      cwd,
      env: { NO_COLOR: '1', CI: '1', ...env },
      reject: false,
      stdin: 'ignore',
      timeout: 60_000,
    });
    const doc = await new Promise<{ dataDir: string }>((resolve, reject) => {
      let text = '';
      proc.stdout.on('data', (b: Buffer) => {
        text += b.toString('utf8');
        try {
          resolve(JSON.parse(text));
        } catch {
          /* not all of it yet */
        }
      });
      proc.then((r) => reject(new Error(`serve exited (${r.exitCode}): ${r.stderr}`)), reject);
    });
    proc.kill('SIGTERM');
    expect((await proc).exitCode).toBe(0);
    return doc;
  }

  it('by default in the user data dir ($XDG_DATA_HOME, else ~/.local/share), never in the plugin project', async () => {
    const { root, plugin, home } = await project();
    const before = await tree(plugin);
    const a = await serveOnce(plugin, { HOME: home, XDG_DATA_HOME: undefined });
    expect(a.dataDir).toBe(path.join(home, '.local', 'share', 'plexichat-plugin', 'marketplace'));
    const xdg = path.join(root, 'xdg');
    const b = await serveOnce(plugin, { HOME: home, XDG_DATA_HOME: xdg });
    expect(b.dataDir).toBe(path.join(xdg, 'plexichat-plugin', 'marketplace'));
    expect(await tree(b.dataDir)).toContain('marketplace.db');
    expect(await tree(plugin)).toEqual(before);
    // Without any home, the user is asked for --data-dir.
    expectOneLine(
      await runMain(['marketplace', 'serve'], { cwd: plugin, env: { HOME: undefined, USERPROFILE: undefined, XDG_DATA_HOME: undefined } }),
      /no home folder/,
      2,
    );
  });

  it('a --data-dir inside a plugin project is refused (exit 2, nothing made) unless build never packs it', async () => {
    const { root, plugin, home } = await project();
    const before = await tree(plugin);
    for (const [cwd, dir] of [
      [plugin, 'data'],
      [plugin, '.'],
      [plugin, 'src/market'],
      [path.join(plugin, 'src'), '../tests/x'],
      [root, 'plugin/data'],
    ] as const) {
      expectOneLine(await runMain(['marketplace', 'serve', '--data-dir', dir], { cwd }), /inside the plugin project .* build would pack it/, 2);
    }
    expect(await tree(plugin)).toEqual(before);
    // A marketplace in .plexichat-marketplace: the data stays, build leaves it out.
    await serveOnce(plugin, { HOME: home }, '--data-dir', '.plexichat-marketplace');
    expect(await tree(path.join(plugin, '.plexichat-marketplace'))).toContain('marketplace.db');
    const built = await runMain(['--json', 'build', '--explain'], { cwd: plugin });
    expect(built.exitCode, built.stderr).toBe(0);
    const doc = JSON.parse(built.stdout) as { decisions?: { path: string; action: string }[] };
    expect(JSON.stringify(doc)).toMatch(/"path":"\.plexichat-marketplace\/","action":"dropped"/);
    const zips = (await fs.readdir(path.join(plugin, 'dist'))).filter((n) => n.endsWith('.zip'));
    expect(zips).toHaveLength(1);
    const entries = await zipEntries(path.join(plugin, 'dist', zips[0]));
    expect(entries).toContain('config/plugin.yaml');
    expect(entries.filter((e) => e.includes('plexichat-marketplace') || e.includes('marketplace.db'))).toEqual([]);
  });
});
