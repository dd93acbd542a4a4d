/**
 * Strays are not packed (issue 20 #14): build packs what a plugin is made
 * of (the manifest, config/monitoring.yaml, src/, docs/, README, CHANGELOG,
 * licence files, a root module the code imports) and what `!pattern` lines
 * of .pluginignore opt in; any other file is left out, never read, and
 * named once in one line. The templates and the runbook's plugin still pack
 * everything they need.
 */
import { execa } from 'execa';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { RUNBOOK_PLUGIN } from '../helpers/requires.js';
import { tempDir } from '../helpers/temp-project.js';
import { PLUGIN_PY, project, ZIP } from './build-helpers.js';

async function entries(file: string): Promise<string[]> {
  const r = await execa('python3', ['-c', 'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', file]);
  return r.stdout.split('\n').filter(Boolean).sort();
}

const BASE = ['CHANGELOG.md', 'config/plugin.yaml', 'docs/README.md', 'plexichat-integrity.json', 'src/__init__.py', 'src/plugin.py'];

describe('build leaves out what is not part of a plugin', () => {
  it('notes.txt, an earlier `validate --json > v.json`, scratch.py, a data folder and config/other.yaml: left out, named in one line', async () => {
    const dir = await tempDir(
      project({
        'notes.txt': 'to do\n',
        'scratch.py': 'print(1)\n',
        'requirements.txt': 'requests\n',
        data: { 'a.csv': '1\n', 'b.csv': '2\n' },
        config: { 'plugin.yaml': (await import('../helpers/zip-fixtures.js')).manifestYaml(), 'other.yaml': 'a: 1\n' },
      }),
    );
    const v = await execa('sh', ['-c', `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} validate --json > v.json`], {
      cwd: dir,
      reject: false,
    });
    expect(v.exitCode).toBe(0);
    const r = await runMain(['build'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await entries(path.join(dir, ZIP))).toEqual(BASE);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('left out'));
    expect(lines).toEqual([
      'left out 7 files not part of a plugin: config/other.yaml, data/, notes.txt, requirements.txt, scratch.py, … (1 more) (add a line `!<path>` to .pluginignore to pack one; build --dry-run --explain shows every rule)',
    ]);
    const json = JSON.parse((await runMain(['build', '--json'], { cwd: dir })).stdout);
    expect(json.leftOut).toEqual(['config/other.yaml', 'data/a.csv', 'data/b.csv', 'notes.txt', 'requirements.txt', 'scratch.py', 'v.json']);
    const explain = await runMain(['build', '--dry-run', '--explain'], { cwd: dir });
    expect(explain.stdout).toMatch(/^- notes\.txt +dropped: default: not part of a plugin$/m);
    expect(explain.stdout).toMatch(/^\+ config\/plugin\.yaml +kept: default: the manifest \(config\/plugin\.yaml\)$/m);
  });

  it('packs the parts of a plugin: README, LICENSE, COPYING, CHANGES, config/monitoring.yaml, docs/ and data under src/', async () => {
    const dir = await tempDir(
      project({
        'README.md': '# Demo\n',
        LICENSE: 'MIT\n',
        'COPYING.txt': 'GPL\n',
        'CHANGES.rst': 'x\n',
        docs: { 'README.md': '# Demo\n', img: { 'flow.png': 'png' } },
        src: { '__init__.py': '', 'plugin.py': PLUGIN_PY, data: { 'words.txt': 'great\n' } },
      }),
    );
    await fs.writeFile(path.join(dir, 'config', 'monitoring.yaml'), 'monitoring:\n  metrics: [plugin_errors_total]\n');
    const r = await runMain(['build'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/left out/);
    expect(await entries(path.join(dir, ZIP))).toEqual(
      [...BASE, 'CHANGES.rst', 'COPYING.txt', 'LICENSE', 'README.md', 'config/monitoring.yaml', 'docs/img/flow.png', 'src/data/words.txt'].sort(),
    );
  });

  it('a module or package at the root that src/ imports is packed; one it does not import is left out', async () => {
    const dir = await tempDir(
      project({
        helpers: { '__init__.py': 'X = 1\n', 'util.py': 'Y = 2\n' },
        'shared.py': 'Z = 3\n',
        'scratch.py': 'print(1)\n',
        unused: { '__init__.py': '' },
        src: { '__init__.py': '', 'plugin.py': `import os, shared as s\nfrom helpers.util import Y\n${PLUGIN_PY}` },
      }),
    );
    const r = await runMain(['build'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await entries(path.join(dir, ZIP))).toEqual([...BASE, 'helpers/__init__.py', 'helpers/util.py', 'shared.py'].sort());
    expect(r.stderr).toMatch(/left out 2 files not part of a plugin: scratch\.py, unused\/ /);
    const explain = await runMain(['build', '--dry-run', '--explain'], { cwd: dir });
    expect(explain.stdout).toMatch(/^\+ helpers\/util\.py +kept: default: code imported by src\/ \(import helpers\)$/m);
  });

  it('a `!pattern` line of .pluginignore opts a file or a folder in; an opted-in secret is still refused', async () => {
    const dir = await tempDir(
      project({
        '.pluginignore': '!notes.txt\n!assets/\nassets/*.psd\n',
        'notes.txt': 'x\n',
        assets: { 'logo.png': 'png', 'logo.psd': 'psd', sub: { 'a.svg': '<svg/>' } },
      }),
    );
    const r = await runMain(['build'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/left out/);
    expect(await entries(path.join(dir, ZIP))).toEqual([...BASE, 'assets/logo.png', 'assets/sub/a.svg', 'notes.txt'].sort());
    const explain = await runMain(['build', '--dry-run', '--explain'], { cwd: dir });
    expect(explain.stdout).toMatch(/^\+ assets\/sub\/a\.svg +kept: \.pluginignore:2: !assets\/$/m);
    expect(explain.stdout).toMatch(/^- assets\/logo\.psd +dropped: \.pluginignore:3: assets\/\*\.psd$/m);
    await fs.writeFile(path.join(dir, 'id_rsa'), 'x');
    await fs.appendFile(path.join(dir, '.pluginignore'), '!id_rsa\n');
    const refused = await runMain(['build'], { cwd: dir });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/id_rsa \[private-key-file\]/);
  });

  it('left-out files are never read: a FIFO, a dangling link and a link out of the project at the root do not stop the build', async () => {
    const dir = await tempDir(project());
    await execa('mkfifo', [path.join(dir, 'pipe')]);
    await fs.symlink('/etc/hostname', path.join(dir, 'host'));
    await fs.symlink('missing.txt', path.join(dir, 'dangling'));
    const r = await runMain(['build'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/left out 3 files not part of a plugin: dangling, host, pipe /);
    expect(await entries(path.join(dir, ZIP))).toEqual(BASE);
  });
});

describe('the templates and the runbook plugin still pack what they need', () => {
  for (const template of ['minimal', 'analytics', 'registry']) {
    it(`init --template ${template}: build packs its code, manifest, docs and changelog, leaves nothing out, and verify accepts it`, async () => {
      const root = await tempDir();
      expect((await runMain(['init', 'p', '--name', `t_${template}`, '--category', 'utility', '--template', template], { cwd: root })).exitCode).toBe(0);
      const dir = path.join(root, 'p');
      const r = await runMain(['build'], { cwd: dir });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/left out/);
      const zip = path.join(dir, 'dist', `t_${template}-0.1.0.zip`);
      expect(await entries(zip)).toEqual(BASE);
      expect((await runMain(['verify', zip], { cwd: dir })).exitCode).toBe(0);
      const withTests = await runMain(['build', '--include-tests', '--json'], { cwd: dir });
      expect(JSON.parse(withTests.stdout).leftOut).toEqual([]);
      expect(await entries(zip)).toEqual(expect.arrayContaining(['conftest.py', 'tests/test_plugin.py']));
    });
  }

  it('the runbook example plugin: its code and manifest are packed and verify accepts the archive', async () => {
    const dir = await tempDir({}, 'pxp-runbook-');
    await fs.cp(RUNBOOK_PLUGIN, dir, { recursive: true });
    // The runbook's one manifest change (docs/runbook.md): the dashboard's permission.
    const manifest = path.join(dir, 'config', 'plugin.yaml');
    await fs.writeFile(manifest, (await fs.readFile(manifest, 'utf8')).replace(/^( +)- analytics_write$/m, '$&\n$1- analytics_read'));
    const r = await runMain(['build', '--json'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.leftOut).toEqual([]);
    expect(await entries(doc.archive)).toEqual(['config/plugin.yaml', 'plexichat-integrity.json', 'src/__init__.py', 'src/plugin.py']);
    expect((await runMain(['verify', doc.archive], { cwd: dir })).exitCode).toBe(0);
  });
});
