import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasStackTrace } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { listFiles, tempDir } from '../helpers/temp-project.js';
import { listTemplates } from '../../src/core/scaffold.js';

const TEMPLATES = (await listTemplates()).map((t) => t.name);

const LAYOUT = [
  '.gitignore',
  '.pluginignore',
  'CHANGELOG.md',
  'config/plugin.yaml',
  'conftest.py',
  'docs/README.md',
  'src/__init__.py',
  'src/plugin.py',
  'tests/__init__.py',
  'tests/test_integration.py',
  'tests/test_plugin.py',
  'tox.ini',
];

/** Every entry (files and folders) below dir, to compare before and after. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string, rel: string) {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(e.isDirectory() ? `${r}/` : r);
      if (e.isDirectory()) await walk(path.join(d, e.name), r);
    }
  }
  await walk(dir, '');
  return out.sort();
}

describe('init', () => {
  it('the runbook sequence works: mkdir -p the folders, cd in, init --name --category', async () => {
    const root = await tempDir();
    const dir = path.join(root, 'plugins', 'advanced_analytics');
    for (const d of ['src', 'tests', 'docs', 'config']) await fs.mkdir(path.join(dir, d), { recursive: true });
    const r = await runMain(['init', '--name', 'advanced_analytics', '--category', 'analytics'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await listFiles(dir)).toEqual(LAYOUT);
    const manifest = await fs.readFile(path.join(dir, 'config/plugin.yaml'), 'utf8');
    expect(manifest).toContain('name: "advanced_analytics"');
    expect(manifest).toContain('category: "analytics"');
    expect(await fs.readFile(path.join(dir, 'src/plugin.py'), 'utf8')).toContain('class AdvancedAnalyticsPlugin(Plugin)');
    expect(await fs.readFile(path.join(dir, 'CHANGELOG.md'), 'utf8')).toMatch(/^## \[0\.1\.0\] - \d{4}-\d{2}-\d{2}$/m);
    for (const f of LAYOUT) expect(r.stdout).toContain(f);
    expect(r.stdout).toMatch(/Next steps/);
    // nothing else was created next to the project
    expect(await fs.readdir(path.join(root, 'plugins'))).toEqual(['advanced_analytics']);
  });

  it('--json gives { dir, name, template, files } and the analytics template', async () => {
    const root = await tempDir();
    const r = await runMain(
      [
        '--json',
        'init',
        'stats',
        '--name',
        'stats_plugin',
        '--category',
        'analytics',
        '--template',
        'analytics',
        '--author',
        'Ada "A" Lovelace',
        '--description',
        'Counts: things',
      ],
      { cwd: root },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ dir: path.join(root, 'stats'), name: 'stats_plugin', template: 'analytics', category: 'analytics' });
    expect(doc.files).toEqual(LAYOUT);
    const manifest = await fs.readFile(path.join(root, 'stats/config/plugin.yaml'), 'utf8');
    expect(manifest).toContain('author: "Ada \\"A\\" Lovelace"');
    expect(manifest).toContain('description: "Counts: things"');
    expect(manifest).toContain('/api/v1/stats_plugin/dashboard');
  });

  for (const template of TEMPLATES) {
    it(`init --template ${template} passes validate (no errors, no warnings) and build unchanged`, async () => {
      const root = await tempDir();
      const init = await runMain(['init', 'p', '--name', `v_${template}`, '--category', 'utility', '--template', template], {
        cwd: root,
      });
      expect(init.exitCode, init.stderr).toBe(0);
      const r = await runMain(['--json', 'validate'], { cwd: path.join(root, 'p') });
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc.ok).toBe(true);
      expect(doc.errors).toEqual([]);
      expect(doc.warnings).toEqual([]);
      const b = await runMain(['build'], { cwd: path.join(root, 'p') });
      expect(b.exitCode, b.stderr).toBe(0);
      expect(await listFiles(path.join(root, 'p/dist'))).toEqual([`v_${template}-0.1.0.cdx.json`, `v_${template}-0.1.0.zip`, `v_${template}-0.1.0.zip.sha256`]);
    });
  }

  it('creates missing parent folders for a nested dir', async () => {
    const root = await tempDir();
    const r = await runMain(['init', 'a/b/my_plugin', '--name', 'my_plugin', '--category', 'utility'], { cwd: root });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await listFiles(path.join(root, 'a/b/my_plugin'))).toEqual(LAYOUT);
    expect(await fs.readdir(path.join(root, 'a/b'))).toEqual(['my_plugin']);
  });

  it('accepts ../x as a directory (the name comes from --name)', async () => {
    const root = await tempDir({ work: {} });
    const r = await runMain(['init', '../x', '--name', 'x_plugin', '--category', 'bots'], { cwd: path.join(root, 'work') });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await listFiles(path.join(root, 'x'))).toEqual(LAYOUT);
  });

  it('a directory holding only .git is empty, and .git is left alone', async () => {
    const root = await tempDir({ p: { '.git': { HEAD: 'ref: refs/heads/main\n', objects: {} } } });
    const r = await runMain(['init', 'p', '--name', 'git_plugin', '--category', 'utility'], { cwd: root });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await fs.readFile(path.join(root, 'p/.git/HEAD'), 'utf8')).toBe('ref: refs/heads/main\n');
    expect(await listFiles(path.join(root, 'p'))).toEqual([...LAYOUT, '.git/HEAD'].sort());
  });

  it('a symlink to an empty folder is a fine target', async () => {
    const root = await tempDir({ real: {} });
    await fs.symlink(path.join(root, 'real'), path.join(root, 'link'));
    const r = await runMain(['init', 'link', '--name', 'sym_plugin', '--category', 'utility'], { cwd: root });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await listFiles(path.join(root, 'real'))).toEqual(LAYOUT);
  });

  it('refuses a non-empty directory (exit 1) and lists what is there', async () => {
    const root = await tempDir({ p: { 'notes.txt': 'mine\n', src: { 'plugin.py': '# mine\n' } } });
    const before = await snapshot(root);
    const r = await runMain(['init', 'p', '--name', 'my_plugin', '--category', 'utility'], { cwd: root });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/directory p is not empty: notes\.txt, src\/plugin\.py/);
    expect(r.stderr).toMatch(/--force/);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(await snapshot(root)).toEqual(before);
  });

  it('--force writes into a non-empty directory, replacing generated files and keeping the rest', async () => {
    const root = await tempDir({ p: { 'notes.txt': 'mine\n', src: { 'plugin.py': '# mine\n' } } });
    const r = await runMain(['--json', 'init', 'p', '--name', 'my_plugin', '--category', 'utility', '--force'], { cwd: root });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).replaced).toEqual(['src/plugin.py']);
    expect(await fs.readFile(path.join(root, 'p/notes.txt'), 'utf8')).toBe('mine\n');
    expect(await fs.readFile(path.join(root, 'p/src/plugin.py'), 'utf8')).toContain('class MyPlugin(Plugin)');
  });

  it('an invalid name is a usage error (exit 2) with a suggestion, before anything is created', async () => {
    const root = await tempDir();
    for (const bad of ['Foo-Bar', 'ab', '1plugin', 'x'.repeat(65), '../evil']) {
      const r = await runMain(['init', 'newdir', '--name', bad, '--category', 'utility'], { cwd: root });
      expect(r.exitCode, bad).toBe(2);
      expect(r.stderr).toMatch(/invalid plugin name/);
      expect(hasStackTrace(r.stderr)).toBe(false);
    }
    const r = await runMain(['init', 'newdir', '--name', 'My-Plugin', '--category', 'utility'], { cwd: root });
    expect(r.stderr).toContain('try --name my_plugin');
    expect(await fs.readdir(root)).toEqual([]);
  });

  it('an unknown category is a usage error (exit 2) that suggests the closest', async () => {
    const root = await tempDir();
    const r = await runMain(['init', 'p', '--name', 'my_plugin', '--category', 'analytcs'], { cwd: root });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('unknown category "analytcs"; did you mean "analytics"?');
    expect(r.stderr).toContain('moderation');
    expect(await fs.readdir(root)).toEqual([]);
  });

  it('an unknown template is a usage error (exit 2) listing the templates', async () => {
    const root = await tempDir();
    const r = await runMain(['init', 'p', '--name', 'my_plugin', '--category', 'utility', '--template', 'fancy'], { cwd: root });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown template "fancy"/);
    expect(r.stderr).toMatch(/available templates: minimal, analytics/);
    expect(await fs.readdir(root)).toEqual([]);
  });

  it('without a TTY a missing --name or --category is a usage error naming the flag', async () => {
    const root = await tempDir();
    let r = await runMain(['init', 'p', '--category', 'utility'], { cwd: root });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/missing plugin name: pass --name/);
    r = await runMain(['--json', 'init', 'p', '--name', 'my_plugin'], { cwd: root });
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toMatch(/pass --category/);
    expect(await fs.readdir(root)).toEqual([]);
  });

  it('a multi-line description is a usage error', async () => {
    const root = await tempDir();
    const r = await runMain(['init', 'p', '--name', 'my_plugin', '--category', 'utility', '--description', 'a\nb'], { cwd: root });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--description must be a single line/);
  });

  it('a failure half-way through moving files in leaves the directory as it was', async () => {
    // docs/README.md exists as an empty folder: the directory counts as empty,
    // but the move fails after several files are already in place.
    const root = await tempDir({ p: { docs: { 'README.md': {} }, config: {} } });
    const before = await snapshot(root);
    const r = await runMain(['init', 'p', '--name', 'my_plugin', '--category', 'utility'], { cwd: root });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/cannot write docs\/README\.md: a folder of that name exists.*nothing was written/);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(await snapshot(root)).toEqual(before);
  });

  it('a target that is a file is refused (exit 1)', async () => {
    const root = await tempDir({ p: 'a file\n' });
    const r = await runMain(['init', 'p', '--name', 'my_plugin', '--category', 'utility'], { cwd: root });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/p exists and is not a directory/);
  });
});
