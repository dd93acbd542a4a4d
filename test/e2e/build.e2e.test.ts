import { execa } from 'execa';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, hasStackTrace } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { listFiles, tempDir, writeTree, type Tree } from '../helpers/temp-project.js';
import { manifestYaml } from '../helpers/zip-fixtures.js';
import { exists, PLUGIN_PY, project, ZIP } from './build-helpers.js';

/** What Python's zipfile sees: [name, size, unix mode, date_time]; testzip() must pass. */
async function pythonList(file: string): Promise<[string, number, number, number[]][]> {
  const code =
    'import json, sys, zipfile\n' +
    'z = zipfile.ZipFile(sys.argv[1])\n' +
    'assert z.testzip() is None\n' +
    'print(json.dumps([[i.filename, i.file_size, i.external_attr >> 16, list(i.date_time)] for i in z.infolist()]))\n';
  const r = await execa('python3', ['-c', code, file]);
  return JSON.parse(r.stdout);
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');
}

describe('build', () => {
  it('packs config, src, docs and CHANGELOG with an integrity listing; zipfile, unzip -t and verify accept it', async () => {
    const dir = await tempDir(
      project({
        '.git': { HEAD: 'ref: refs/heads/main\n' },
        src: { '__init__.py': '', 'plugin.py': PLUGIN_PY, __pycache__: { 'plugin.cpython-311.pyc': 'x' }, 'old.pyc': 'x' },
        '.venv': { 'pyvenv.cfg': 'home = /usr\n', lib: { 'x.py': '' } },
        env2: { 'pyvenv.cfg': 'home = /usr\n' },
        node_modules: { a: { 'index.js': '' } },
        '.DS_Store': 'x',
        'notes.txt~': 'x',
      }),
    );
    const r = await runMain(['build'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/✔ built dist\/demo_plugin-1\.0\.0\.zip/);
    const names = (await pythonList(path.join(dir, ZIP))).map((e) => e[0]);
    expect(names).toEqual(['CHANGELOG.md', 'config/plugin.yaml', 'docs/README.md', 'src/__init__.py', 'src/plugin.py', 'plexichat-integrity.json']);
    const unzip = await execa('unzip', ['-t', ZIP], { cwd: dir, reject: false });
    expect(unzip.exitCode).toBe(0);
    expect(unzip.stdout).toMatch(/No errors detected/);
    const sum = await fs.readFile(path.join(dir, `${ZIP}.sha256`), 'utf8');
    expect(sum).toBe(`${await sha256(path.join(dir, ZIP))}  demo_plugin-1.0.0.zip\n`);
    const check = await execa('sha256sum', ['-c', 'demo_plugin-1.0.0.zip.sha256'], { cwd: path.join(dir, 'dist'), reject: false });
    expect(check.exitCode).toBe(0);
    const v = await runMain(['verify', ZIP, '--json'], { cwd: dir });
    expect(v.exitCode).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, findings: [] });
  });

  it('--json gives { archive, sha256, size, files } and --include-tests packs tests/', async () => {
    const dir = await tempDir(project());
    const r = await runMain(['build', '--json', '--include-tests'], { cwd: dir });
    expect(r.exitCode).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ archive: path.join(await fs.realpath(dir), ZIP), files: 7, dryRun: false });
    expect(doc.sha256).toBe(await sha256(path.join(dir, ZIP)));
    expect(doc.size).toBe((await fs.stat(path.join(dir, ZIP))).size);
    const names = (await pythonList(path.join(dir, ZIP))).map((e) => e[0]);
    expect(names).toContain('tests/test_plugin.py');
  });

  it('is reproducible: touched files, another umask, owner and creation order give the same bytes', async () => {
    const a = await tempDir(project({ src: { '__init__.py': '', 'plugin.py': PLUGIN_PY, 'run.sh': '#!/bin/sh\n' } }));
    await fs.chmod(path.join(a, 'src/run.sh'), 0o755);
    const first = await runMain(['build', '--json'], { cwd: a });
    expect(first.exitCode).toBe(0);
    const sumA = JSON.parse(first.stdout).sha256;

    // Touch every file, then build again.
    for (const f of await listFiles(path.join(a, 'src'))) {
      await fs.utimes(path.join(a, 'src', f), new Date('2031-05-06T07:08:09Z'), new Date('2031-05-06T07:08:09Z'));
    }
    const again = await runMain(['build', '--json'], { cwd: a });
    expect(JSON.parse(again.stdout).sha256).toBe(sumA);

    // The same sources written in reverse order, under umask 077, owned by another user.
    const b = await tempDir();
    const files = (await listFiles(a)).filter((f) => !f.startsWith('dist/')).reverse();
    const script = files.map((f) => `mkdir -p "$(dirname '${f}')" && cp '${path.join(a, f)}' '${f}'`).join(' && ');
    await execa('sh', ['-c', `umask 077 && ${script} && chmod 700 src/run.sh`], { cwd: b });
    if (process.getuid?.() === 0) await execa('chown', ['-R', '65534:65534', b]);
    expect((await fs.stat(path.join(b, 'src/plugin.py'))).mode & 0o777).toBe(0o600);
    const other = await runMain(['build', '--json'], { cwd: b, env: { SOURCE_DATE_EPOCH: '' } });
    expect(other.exitCode).toBe(0);
    expect(JSON.parse(other.stdout).sha256).toBe(sumA);

    const entries = await pythonList(path.join(a, ZIP));
    const mode = (n: string) => entries.find((e) => e[0] === n)![2];
    expect(mode('src/plugin.py')).toBe(0o100644);
    expect(mode('src/run.sh')).toBe(0o100755);
    expect(entries[0][3]).toEqual([1980, 1, 1, 0, 0, 0]);
  });

  it('uses SOURCE_DATE_EPOCH for entry timestamps', async () => {
    const dir = await tempDir(project());
    const r = await runMain(['build'], { cwd: dir, env: { SOURCE_DATE_EPOCH: '1700000000' } });
    expect(r.exitCode).toBe(0);
    const entries = await pythonList(path.join(dir, ZIP));
    expect(entries[0][3]).toEqual([2023, 11, 14, 22, 13, 20]);
    const bad = await runMain(['build'], { cwd: dir, env: { SOURCE_DATE_EPOCH: 'yesterday' } });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/SOURCE_DATE_EPOCH must be a whole number/);
  });

  it('--dry-run lists files with sizes and writes nothing; --explain names the rule for each path', async () => {
    const dir = await tempDir(project({ '.pluginignore': '# comment\n*.log\n!keep.log\n', 'debug.log': 'x', 'keep.log': 'kept' }));
    const dry = await runMain(['build', '--dry-run'], { cwd: dir });
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toMatch(/^ *77 B {2}src\/plugin\.py$/m);
    expect(dry.stdout).toMatch(/6 files, .* would be packed \(dry run, nothing written\)/);
    expect(await exists(path.join(dir, 'dist'))).toBe(false);

    const explain = await runMain(['build', '--dry-run', '--explain'], { cwd: dir });
    expect(explain.stdout).toMatch(/^- debug\.log +dropped: \.pluginignore:2: \*\.log$/m);
    expect(explain.stdout).toMatch(/^\+ keep\.log +kept: \.pluginignore:3: !keep\.log$/m);
    expect(explain.stdout).toMatch(/^- tests\/ +dropped: built-in: tests\/ \(pass --include-tests to pack them\)$/m);
    expect(explain.stdout).toMatch(/^- \.pluginignore +dropped: built-in/m);

    const json = await runMain(['build', '--dry-run', '--explain', '--json'], { cwd: dir });
    const doc = JSON.parse(json.stdout);
    expect(doc.dryRun).toBe(true);
    expect(doc.list).toContainEqual({ path: 'keep.log', size: 4 });
    expect(doc.explain).toContainEqual({ path: 'debug.log', action: 'dropped', rule: '.pluginignore:2: *.log' });
    expect(await exists(path.join(dir, 'dist'))).toBe(false);
  });

  it('writes into --out and never packs the output folder or old archives', async () => {
    const dir = await tempDir(project({ out: { 'old-0.9.0.zip': 'x' } }));
    const r = await runMain(['build', '--out', 'out'], { cwd: dir });
    expect(r.exitCode).toBe(0);
    const names = (await pythonList(path.join(dir, 'out/demo_plugin-1.0.0.zip'))).map((e) => e[0]);
    expect(names.some((n) => n.startsWith('out/') || n.startsWith('dist/'))).toBe(false);
  });

  it('warns when the archive has more entries than the marketplace accepts', async () => {
    const data: Tree = {};
    for (let i = 0; i < 10_000; i++) data[`f${i}.txt`] = '';
    const dir = await tempDir(project({ data, '.pluginignore': '!data/\n' }));
    const r = await runMain(['build'], { cwd: dir });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/warning: 10006 entries: the marketplace accepts at most 10000; drop files with \.pluginignore/);
  });

  it('stores a symlink that stays inside as a regular file and skips a FIFO with a warning', async () => {
    const dir = await tempDir(project());
    await fs.symlink('plugin.py', path.join(dir, 'src/alias.py'));
    await execa('mkfifo', [path.join(dir, 'src/pipe')]);
    const r = await runMain(['build'], { cwd: dir });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/warning: skipped src\/pipe: not a regular file/);
    const entries = await pythonList(path.join(dir, ZIP));
    const alias = entries.find((e) => e[0] === 'src/alias.py')!;
    expect(alias[2]).toBe(0o100644);
    expect(alias[1]).toBe(77);
  });
});

describe('build refuses bad input', () => {
  async function expectRefused(dir: string, args: string[], code: number, message: RegExp, env?: Record<string, string>) {
    const r = await runMain(['build', ...args], { cwd: dir, env });
    expect(r.stderr).toMatch(message);
    expect(r.exitCode).toBe(code);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(r.stderr).toMatch(/hint: /);
    const dist = path.join(dir, 'dist');
    const left = (await exists(dist)) ? await fs.readdir(dist) : [];
    expect(left).toEqual([]);
    return r;
  }

  it('a private key in src/ (exit 1, file:line and rule, never the key); --allow-secret lets it through', async () => {
    const key = `-----BEGIN RSA PRIVATE KEY-----\n${randomBytes(48).toString('base64')}\n-----END RSA PRIVATE KEY-----\n`;
    const dir = await tempDir(project({ src: { '__init__.py': '', 'plugin.py': PLUGIN_PY, 'keys.py': `# keys\nKEY = """\n${key}"""\n` } }));
    const r = await expectRefused(dir, [], 1, /refusing to pack a likely secret: src\/keys\.py:3 \[private-key\]/);
    expect(r.stderr).not.toContain(key.split('\n')[1]);
    const ok = await runMain(['build', '--allow-secret', 'src/keys.py'], { cwd: dir });
    expect(ok.exitCode).toBe(0);
  });

  it('AWS and GitHub tokens are listed together, each with its line', async () => {
    const dir = await tempDir(
      project({
        src: { 'plugin.py': `A = "AKIA${'ABCDEFGHIJKLMNOP'}"\n`, 'gh.py': `\n\nT = "ghp_${'a'.repeat(36)}"\n` },
      }),
    );
    const r = await expectRefused(dir, [], 1, /src\/plugin\.py:1 \[aws-access-key\]/);
    expect(r.stderr).toMatch(/error: src\/gh\.py:3 \[github-token\]/);
    expect(r.stderr).toMatch(/refusing to pack 2 likely secrets/);
    expect(r.stderr).not.toContain('ABCDEFGHIJKLMNOP');
  });

  it('an .env file in src/ or opted in (exit 1) unless .pluginignore drops it; at the root it is left out, never read', async () => {
    const dir = await tempDir(project({ '.env': 'PASSWORD=hunter2\n' }));
    const left = await runMain(['build'], { cwd: dir });
    expect(left.exitCode).toBe(0);
    expect(left.stderr).toMatch(/left out 1 file not part of a plugin: \.env /);
    await fs.rm(path.join(dir, 'dist'), { recursive: true });
    await fs.writeFile(path.join(dir, '.pluginignore'), '!.env\n');
    const r = await expectRefused(dir, [], 1, /\.env \[env-file\]/);
    expect(r.stderr).not.toContain('hunter2');
    await fs.writeFile(path.join(dir, 'src/.env'), 'PASSWORD=hunter2\n');
    await fs.writeFile(path.join(dir, '.pluginignore'), '');
    await expectRefused(dir, [], 1, /src\/\.env \[env-file\]/);
    await fs.writeFile(path.join(dir, '.pluginignore'), '.env\n');
    expect((await runMain(['build'], { cwd: dir })).exitCode).toBe(0);
  });

  it('an .npmrc holding a token', async () => {
    const dir = await tempDir(
      project({ src: { '__init__.py': '', 'plugin.py': PLUGIN_PY, '.npmrc': 'registry=https://example.invalid/\n//example.invalid/:_authToken=abc123\n' } }),
    );
    await expectRefused(dir, [], 1, /\.npmrc:2 \[npmrc-token\]/);
  });

  it('a symlink to a file outside the project, also a sibling sharing the prefix (exit 1, naming the link)', async () => {
    const parent = await tempDir();
    const dir = path.join(parent, 'plugin');
    await writeTree(dir, project());
    await writeTree(path.join(parent, 'plugin-evil'), { 'secret.txt': 'outside' });
    await fs.symlink(path.join(parent, 'plugin-evil/secret.txt'), path.join(dir, 'src/data.txt'));
    await expectRefused(dir, [], 1, /error: src\/data\.txt is a symlink to .*plugin-evil\/secret\.txt, outside the project/);
    await fs.rm(path.join(dir, 'src/data.txt'));
    await fs.symlink('/etc/hostname', path.join(dir, 'src/host'));
    await expectRefused(dir, [], 1, /src\/host is a symlink to \/etc\/hostname, outside the project/);
  });

  it('a file that cannot be read (exit 1, naming it)', async () => {
    // A dangling symlink cannot be read by anyone, root included.
    const dir = await tempDir(project());
    await fs.symlink('missing.txt', path.join(dir, 'src/gone.txt'));
    await expectRefused(dir, [], 1, /cannot read src\/gone\.txt: it is a symlink to a missing file/);
    await fs.rm(path.join(dir, 'src/gone.txt'));

    // A mode-000 file: root reads it anyway, so run the CLI as nobody when we are root.
    await fs.writeFile(path.join(dir, 'src/locked.txt'), 'x = 1\n');
    await fs.chmod(path.join(dir, 'src/locked.txt'), 0o000);
    const asRoot = process.getuid?.() === 0;
    await fs.rm(path.join(dir, 'dist'), { recursive: true, force: true });
    if (asRoot) {
      await fs.chmod(dir, 0o777);
      await fs.chmod(path.dirname(dir), 0o755);
    }
    const r = await execa(process.execPath, [BIN, 'build'], {
      cwd: dir,
      env: { NO_COLOR: '1', CI: '1' },
      reject: false,
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    });
    expect(r.stderr).toMatch(/error: cannot read src\/locked\.txt \(EACCES\)/);
    expect(r.exitCode).toBe(1);
    expect(hasStackTrace(r.stderr)).toBe(false);
    const dist = path.join(dir, 'dist');
    expect((await exists(dist)) ? await fs.readdir(dist) : []).toEqual([]);
  });

  it('a .pluginignore with a bad pattern (exit 1, naming the line)', async () => {
    const dir = await tempDir(project({ '.pluginignore': '*.log\n\nsrc/[abc\n' }));
    await expectRefused(dir, [], 1, /error: \.pluginignore:3: bad pattern "src\/\[abc": a "\[" is never closed/);
  });

  it('an output folder that is a file (exit 2 for --out, exit 1 for dist)', async () => {
    const dir = await tempDir(project({ 'out.txt': 'x' }));
    const r = await runMain(['build', '--out', 'out.txt'], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/error: the output folder out\.txt exists and is not a folder/);
    expect(hasStackTrace(r.stderr)).toBe(false);
    await fs.writeFile(path.join(dir, 'dist'), 'x');
    const d = await runMain(['build'], { cwd: dir });
    expect(d.exitCode).toBe(1);
    expect(d.stderr).toMatch(/the output folder dist exists and is not a folder/);
    expect(await fs.readFile(path.join(dir, 'dist'), 'utf8')).toBe('x');
  });

  it('names that differ only in case or Unicode normalization (exit 1)', async () => {
    const dir = await tempDir(project({ docs: { 'README.md': 'a', 'readme.md': 'b' } }));
    await expectRefused(dir, [], 1, /docs\/README\.md and docs\/readme\.md differ only in case or Unicode normalization/);
    const nfc = await tempDir(project({ src: { 'caf\u00e9.py': 'a', 'cafe\u0301.py': 'b' } }));
    await expectRefused(nfc, [], 1, /café\.py.* Unicode normalization|two files are both named/);
  });

  it('a build killed half way leaves no archive under the final name; the next build cleans up and succeeds', async () => {
    const big: Tree = {};
    for (let i = 0; i < 24; i++) big[`blob${i}.bin`] = randomBytes(2 * 1024 * 1024);
    const dir = await tempDir(project({ src: { 'plugin.py': PLUGIN_PY, data: big } }));
    const child = execa(process.execPath, [BIN, 'build'], { cwd: dir, env: { CI: '1' }, reject: false });
    const dist = path.join(dir, 'dist');
    // Wait until the temp archive exists and has data, then kill -9.
    for (let i = 0; i < 2000; i++) {
      const names = (await exists(dist)) ? await fs.readdir(dist) : [];
      const partial = names.find((n) => n.includes('.partial-'));
      if (partial && (await fs.stat(path.join(dist, partial)).catch(() => undefined))?.size) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGKILL');
    const r = await child;
    expect(r.signal).toBe('SIGKILL');
    const after = await fs.readdir(dist);
    expect(after).not.toContain('demo_plugin-1.0.0.zip');
    expect(after).not.toContain('demo_plugin-1.0.0.zip.sha256');
    expect(after.some((n) => n.includes('.partial-'))).toBe(true);
    const again = await runMain(['build'], { cwd: dir });
    expect(again.exitCode).toBe(0);
    expect((await fs.readdir(dist)).sort()).toEqual(['demo_plugin-1.0.0.cdx.json', 'demo_plugin-1.0.0.zip', 'demo_plugin-1.0.0.zip.sha256']);
  });

  it('Ctrl-C (SIGINT) during a build exits 130 and leaves neither the archive nor a temp file', async () => {
    const big: Tree = {};
    for (let i = 0; i < 24; i++) big[`blob${i}.bin`] = randomBytes(2 * 1024 * 1024);
    const dir = await tempDir(project({ src: { 'plugin.py': PLUGIN_PY, data: big } }));
    const child = execa(process.execPath, [BIN, 'build'], { cwd: dir, env: { CI: '1', NO_COLOR: '1' }, reject: false });
    const dist = path.join(dir, 'dist');
    for (let i = 0; i < 2000; i++) {
      const names = (await exists(dist)) ? await fs.readdir(dist) : [];
      if (names.some((n) => n.includes('.partial-'))) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(hasStackTrace(String(r.stderr))).toBe(false);
    expect((await exists(dist)) ? await fs.readdir(dist) : []).toEqual([]);
  });

  it('a manifest that fails validation stops the build (exit 1, diagnostics printed, nothing written)', async () => {
    const big: Tree = {};
    for (let i = 0; i < 8; i++) big[`blob${i}.bin`] = randomBytes(1024 * 1024);
    const dir = await tempDir(project({ src: { 'plugin.py': PLUGIN_PY, data: big } }));
    await fs.writeFile(path.join(dir, 'config/plugin.yaml'), manifestYaml().replace('category: utility', 'category: not_a_category'));
    const r = await expectRefused(dir, [], 1, /validation failed with 1 error; nothing was built/);
    expect(r.stderr).toMatch(/config\/plugin\.yaml:\d+:\d+/);
    // not even the dist/ folder it would have created
    expect(await exists(path.join(dir, 'dist'))).toBe(false);
  });

  it('a missing manifest (exit 1)', async () => {
    const dir = await tempDir({ src: { 'plugin.py': '' } });
    // Several runs: the refusal once raced the validation's rejection handler (an uncaught crash, some runs only).
    for (let i = 0; i < 6; i++) {
      const r = await runMain(['build'], { cwd: dir });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/^error: config\/plugin\.yaml not found/m);
      expect(r.stderr).not.toContain('Node.js v');
      expect(hasStackTrace(r.stderr)).toBe(false);
    }
    expect(await exists(path.join(dir, 'dist/demo_plugin-1.0.0.zip'))).toBe(false);
  });
});

describe('build on a terminal', () => {
  it('draws a progress bar on stderr for a large build, then the summary', async () => {
    const { runTty } = await import('../helpers/run-tty.js');
    const big: Tree = {};
    for (let i = 0; i < 24; i++) big[`blob${i}.bin`] = randomBytes(2 * 1024 * 1024);
    const dir = await tempDir(project({ src: { 'plugin.py': PLUGIN_PY, data: big } }));
    const tty = runTty(['build'], { cwd: dir });
    const r = await tty.done();
    expect(r.exitCode).toBe(0);
    expect(r.output).toMatch(/packing \[[^\]]*\] \d+%/);
    expect(r.output).toMatch(/✔ built dist\/demo_plugin-1\.0\.0\.zip/);
    expect(r.output).toMatch(/sha256 {2}[0-9a-f]{64}/);
  });
});

describe('build when the output cannot be written', () => {
  it('a full disk (exit 1, nothing left in the output folder, an older archive kept)', async () => {
    const dir = await tempDir(project({ src: { 'plugin.py': PLUGIN_PY, data: { 'a.bin': randomBytes(3 * 1024 * 1024) } } }));
    const out = path.join(dir, 'small-disk');
    await fs.mkdir(out);
    const asRoot = process.getuid?.() === 0;
    let mounted = false;
    if (asRoot) {
      // A 1 MiB tmpfs: the 3 MB archive cannot fit.
      mounted = (await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', out], { reject: false })).exitCode === 0;
    }
    if (!mounted) await fs.chmod(out, 0o555); // not root (or no mount): a read-only folder instead
    try {
      await fs.writeFile(path.join(out, 'demo_plugin-1.0.0.zip'), 'older archive').catch(() => undefined);
      const r = await runMain(['build', '--out', out], { cwd: dir });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(mounted ? /no space left on the device while writing to .*small-disk; nothing was written/ : /cannot write to .*small-disk/);
      expect(hasStackTrace(r.stderr)).toBe(false);
      const left = (await fs.readdir(out)).filter((n) => n !== 'demo_plugin-1.0.0.zip');
      expect(left).toEqual([]);
      if (mounted) expect(await fs.readFile(path.join(out, 'demo_plugin-1.0.0.zip'), 'utf8')).toBe('older archive');
    } finally {
      if (mounted) await execa('umount', [out], { reject: false });
      else await fs.chmod(out, 0o755);
    }
  });
});
