/**
 * What goes into the archive, as classes (issue 13 #4, #5, #17): the CLI's
 * own output, test and tool droppings and the dev marketplace's data are
 * never packed; an archive the marketplace would refuse is never written;
 * the output folder may be a link and is never packed, and may not be a
 * folder of the plugin's own files.
 */
import { execa } from 'execa';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, hasStackTrace } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { startDevServer } from '../helpers/dev-server.js';
import { tempDir, writeTree, type Tree } from '../helpers/temp-project.js';
import { exists, PLUGIN_PY, project, ZIP } from './build-helpers.js';

/** Entry names of an archive, through Python's zipfile. */
async function entries(file: string): Promise<string[]> {
  const r = await execa('python3', ['-c', 'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', file]);
  return r.stdout.split('\n').filter(Boolean);
}

/** The CLI through a shell, for redirections and pipes; NO_COLOR and CI as in runCli. */
async function shell(script: string, cwd: string) {
  const cli = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)}`;
  const r = await execa('sh', ['-c', script.replaceAll('CLI', cli)], {
    cwd,
    env: { NO_COLOR: '1', CI: '1', PLEXICHAT_CACHE_DIR: 'off' },
    extendEnv: true,
    reject: false,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

describe("build never packs the CLI's own output", () => {
  it.each([
    ['--json build > build.json', 'build.json'],
    ['build > out.txt 2>&1', 'out.txt'],
    ['build 2> err.txt', 'err.txt'],
    ['build >> appended.log', 'appended.log'],
    ['build 2>&1 | tee build.txt', 'build.txt'],
    ['build 2>&1 | tee -a logs/tee.txt > /dev/null', 'logs/tee.txt'],
    ['build 2>&1 | cat > catted.txt', 'catted.txt'],
  ])('`%s` in the plugin root: exit 0, %s is not in the archive', async (command, file) => {
    // Opted in, so only the own-output rule can keep the file out.
    const dir = await tempDir(project({ logs: { 'keep.txt': 'kept\n' }, '.pluginignore': '!*.txt\n!*.json\n!*.log\n!logs/\n' }));
    const r = await shell(`CLI ${command}`, dir);
    expect(r.exitCode).toBe(0);
    expect(await exists(path.join(dir, file))).toBe(true);
    const names = await entries(path.join(dir, ZIP));
    expect(names).not.toContain(file);
    expect(names).toContain('logs/keep.txt');
    expect(names).toContain('src/plugin.py');
  });

  it('--json output into the project is the whole document, and verify accepts the archive', async () => {
    const dir = await tempDir(project());
    const r = await shell('CLI --json build > build.json', dir);
    expect(r.exitCode).toBe(0);
    const doc = JSON.parse(await fs.readFile(path.join(dir, 'build.json'), 'utf8'));
    expect(doc.files).toBe(5);
    expect((await runMain(['verify', ZIP], { cwd: dir })).exitCode).toBe(0);
  });

  it('a link to the output file and -C from outside are recognised too; --explain names the rule', async () => {
    const parent = await tempDir();
    const dir = path.join(parent, 'plugin');
    await writeTree(dir, project());
    await fs.writeFile(path.join(dir, 'explain.txt'), '');
    await fs.writeFile(path.join(dir, '.pluginignore'), '!*.txt\n');
    await fs.symlink('explain.txt', path.join(dir, 'alias.txt'));
    const r = await shell('CLI -C plugin build --dry-run --explain > plugin/explain.txt', parent);
    expect(r.exitCode).toBe(0);
    const text = await fs.readFile(path.join(dir, 'explain.txt'), 'utf8');
    expect(text).toMatch(/^- explain\.txt +dropped: built-in: the CLI's own output \(stdout\)$/m);
    expect(text).toMatch(/^- alias\.txt +dropped: built-in: the CLI's own output \(stdout\)$/m);
  });

  it('a file that is not the output keeps being packed, also when it is named like a log', async () => {
    const dir = await tempDir(project({ 'build.txt': 'an earlier log\n', '.pluginignore': '!build.txt\n' }));
    const r = await shell('CLI build > other.txt', dir);
    expect(r.exitCode).toBe(0);
    expect(await entries(path.join(dir, ZIP))).toContain('build.txt');
  });
});

describe('build never packs test and tool droppings', () => {
  it('Hypothesis, coverage, pytest-benchmark, tox and friends, at the root and deeper', async () => {
    const droppings: Tree = {
      '.hypothesis': { examples: { ab: { cd: 'x' } } },
      '.benchmarks': { 'Linux-CPython-3.11-64bit': { '0001_run.json': '{}' } },
      '.tox': { py311: { 'log.txt': 'x' } },
      '.coverage': 'sqlite',
      '.coverage.host.123.456': 'sqlite',
      'coverage.xml': '<coverage/>',
      'coverage.json': '{}',
      'nosetests.xml': '<x/>',
      '.pytest_cache': { v: { cache: { lastfailed: '{}' } } },
      '.ipynb_checkpoints': { 'a.ipynb': '{}' },
      '.dmypy.json': '{}',
      'pip-log.txt': 'x',
      htmlcov: { 'index.html': '<html/>' },
    };
    const dir = await tempDir(project({ ...droppings, src: { '__init__.py': '', 'plugin.py': PLUGIN_PY, '.hypothesis': { x: 'y' }, 'plugin.py,cover': 'x' } }));
    const r = await runMain(['build'], { cwd: dir });
    expect(r.exitCode).toBe(0);
    expect((await entries(path.join(dir, ZIP))).sort()).toEqual(
      ['CHANGELOG.md', 'config/plugin.yaml', 'docs/README.md', 'plexichat-integrity.json', 'src/__init__.py', 'src/plugin.py'].sort(),
    );
    const explain = await runMain(['build', '--dry-run', '--explain'], { cwd: dir });
    expect(explain.stdout).toMatch(/^- \.hypothesis\/ +dropped: built-in: \.hypothesis\/ \(test data \(Hypothesis\)\)$/m);
    expect(explain.stdout).toMatch(/^- coverage\.xml +dropped: built-in: coverage\.xml \(coverage report\)$/m);
  });

  it('a running `marketplace serve` in the plugin root: its data folder (database, WAL, archives) is not packed', async () => {
    const dir = await tempDir(project());
    const srv = await startDevServer({ dataDir: path.join(dir, '.plexichat-marketplace') });
    try {
      // Another data folder under another name is recognised by its database.
      await writeTree(dir, { 'market-data': { 'marketplace.db': 'x', archives: { 'a.zip': 'x' } } });
      const r = await runMain(['build'], { cwd: dir });
      expect(r.exitCode).toBe(0);
      const names = await entries(path.join(dir, ZIP));
      expect(names.filter((n) => n.startsWith('.plexichat-marketplace') || n.startsWith('market-data'))).toEqual([]);
    } finally {
      await srv.stop();
    }
  });
});

describe('build refuses an archive the marketplace would refuse (nothing written)', () => {
  async function refused(dir: string, args: string[], code: number, message: RegExp) {
    const r = await runMain(['build', ...args], { cwd: dir });
    expect(r.stderr).toMatch(message);
    expect(r.exitCode).toBe(code);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(r.stderr).toMatch(/hint: /);
    const dist = path.join(dir, 'dist');
    expect((await exists(dist)) ? await fs.readdir(dist) : []).toEqual([]);
    return r;
  }

  it.each([
    ['*', /no config\/plugin\.yaml/, /no Python code under src\//],
    ['src/', /the marketplace would refuse this archive: the archive has no Python code under src\//, undefined],
    ['src/*.py', /no Python code under src\//, undefined],
    ['config/', /the marketplace would refuse this archive: the archive has no config\/plugin\.yaml/, undefined],
    ['/config/plugin.yaml', /no config\/plugin\.yaml/, undefined],
  ])('.pluginignore `%s`: exit 1, for a build and a dry run', async (pattern, first, second) => {
    const dir = await tempDir(project({ '.pluginignore': `${pattern}\n` }));
    for (const args of [[], ['--dry-run']]) {
      const r = await refused(dir, args, 1, first);
      if (second) expect(r.stderr).toMatch(second);
    }
    const json = await runMain(['build', '--json'], { cwd: dir });
    const doc = JSON.parse(json.stdout);
    expect(doc.error.code).toBe('ARCHIVE_REFUSED');
    expect(doc.error.findings.length).toBeGreaterThan(0);
  });

  it.each([['src'], ['config'], ['docs'], ['.'], ['./src/..']])('--out %s, a folder of what it packs: exit 2', async (out) => {
    const dir = await tempDir(project());
    const before = (await fs.readdir(path.join(dir, 'src'))).sort();
    const r = await runMain(['build', '--out', out], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/error: the output folder (.* holds files the archive would otherwise pack|is the project folder itself)/);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect((await fs.readdir(path.join(dir, 'src'))).sort()).toEqual(before);
    expect(await exists(path.join(dir, 'dist'))).toBe(false);
  });

  it('--out into a folder the rules drop anyway, a new folder, or one holding only old archives: built', async () => {
    const dir = await tempDir(
      project({ tests: { 'test_x.py': 'def test(): pass\n' }, releases: { 'demo_plugin-0.9.0.zip': 'x', 'demo_plugin-0.9.0.zip.sha256': 'x' } }),
    );
    for (const out of ['tests', 'new/sub', 'releases', 'build']) {
      const r = await runMain(['build', '--out', out], { cwd: dir });
      expect(r.exitCode, `${out}: ${r.stderr}`).toBe(0);
      const names = await entries(path.join(dir, out, 'demo_plugin-1.0.0.zip'));
      expect(names.some((n) => n.startsWith(`${out}/`))).toBe(false);
    }
    // With --include-tests, tests/ is packed: it cannot be the output folder.
    expect((await runMain(['build', '--include-tests', '--out', 'tests'], { cwd: dir })).exitCode).toBe(2);
  });
});

describe('the output folder may be a link', () => {
  it('dist as a link to a folder elsewhere: built there, never packed', async () => {
    const parent = await tempDir();
    const dir = path.join(parent, 'plugin');
    await writeTree(dir, project());
    await fs.mkdir(path.join(parent, 'artifacts'));
    await fs.symlink(path.join(parent, 'artifacts'), path.join(dir, 'dist'));
    const r = await runMain(['build'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const names = await entries(path.join(parent, 'artifacts', 'demo_plugin-1.0.0.zip'));
    expect(names.some((n) => n.startsWith('dist'))).toBe(false);
    // --out through the same link, and a second build over the first.
    expect((await runMain(['build', '--out', 'dist'], { cwd: dir })).exitCode).toBe(0);
  });

  it('--out as a link to a folder inside the project, and built-in folders that are links (node_modules, .venv)', async () => {
    const parent = await tempDir();
    const dir = path.join(parent, 'plugin');
    await writeTree(dir, project({ out: { real: {} } }));
    await writeTree(parent, { shared: { node_modules: { 'x.js': '' }, venv: { 'pyvenv.cfg': '' } } });
    await fs.symlink('out/real', path.join(dir, 'artifacts'));
    await fs.symlink(path.join(parent, 'shared/node_modules'), path.join(dir, 'node_modules'));
    await fs.symlink(path.join(parent, 'shared/venv'), path.join(dir, '.venv'));
    const r = await runMain(['build', '--out', 'artifacts'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const names = await entries(path.join(dir, 'out/real/demo_plugin-1.0.0.zip'));
    expect(names.filter((n) => /^(out|artifacts|node_modules|\.venv)\//.test(n))).toEqual([]);
  });

  it('a link to a folder outside that is not the output folder is still refused', async () => {
    const parent = await tempDir();
    const dir = path.join(parent, 'plugin');
    await writeTree(dir, project());
    await fs.mkdir(path.join(parent, 'elsewhere'));
    await fs.symlink(path.join(parent, 'elsewhere'), path.join(dir, 'src/data'));
    const r = await runMain(['build'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/src\/data is a symlink to .*elsewhere, outside the project/);
  });
});

describe('build --explain says what happened', () => {
  it('"refused" for a secret found in the content, the `!` line for a re-included file', async () => {
    const dir = await tempDir(
      project({
        '.pluginignore': '*.log\n!keep.log\nnotes/\n!notes/\n',
        'keep.log': 'x',
        'drop.log': 'x',
        notes: { 'a.md': 'x' },
        src: { '__init__.py': '', 'plugin.py': PLUGIN_PY, 'aws.py': `KEY = "AKIA${'ABCDEFGHIJKLMNOP'}"\n` },
      }),
    );
    const r = await runMain(['build', '--dry-run', '--explain'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^! src\/aws\.py +refused: secret: aws-access-key$/m);
    expect(r.stdout).toMatch(/^\+ keep\.log +kept: \.pluginignore:2: !keep\.log$/m);
    expect(r.stdout).toMatch(/^- drop\.log +dropped: \.pluginignore:1: \*\.log$/m);
    expect(r.stdout).toMatch(/^\+ src\/plugin\.py +kept: default: plugin code \(src\/\)$/m);
    expect(r.stdout).toMatch(/^\+ notes\/a\.md +kept: \.pluginignore:4: !notes\/$/m);
    const json = JSON.parse((await runMain(['build', '--dry-run', '--explain', '--json'], { cwd: dir })).stdout);
    expect(json.error.explain).toContainEqual({ path: 'src/aws.py', action: 'refused', rule: 'secret: aws-access-key' });
  });
});
