/**
 * A workspace (plexichat-workspace.yaml): a temp git repository with three
 * plugins, two of which import a shared library. check --all, validate/build
 * over all, some or the affected plugins, a failing plugin among passing ones,
 * and the refusals of the workspace flags.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { runMain } from '../helpers/run-main.js';
import { runCli } from '../helpers/run-cli.js';
import { tempDir } from '../helpers/temp-project.js';
import { offline } from '../helpers/scaffold.js';

const PLUGINS = ['alpha_one', 'beta_two', 'gamma_three'];
const IMPORTERS = ['alpha_one', 'beta_two'];
const WORKSPACE = 'plugins:\n  - plugins/*   # every plugin folder\nlibraries:\n  - libs/*\n';
const env = { ...offline, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' };

let template: string;

/** An archive's entries and their text, as Python's zipfile reads them. */
async function readZipEntries(file: string): Promise<Map<string, string>> {
  const py = 'import json, sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nprint(json.dumps({n: z.read(n).decode("utf-8", "replace") for n in z.namelist()}))';
  const r = await execa('python3', ['-c', py, file]);
  return new Map(Object.entries(JSON.parse(r.stdout) as Record<string, string>));
}

async function git(dir: string, ...args: string[]): Promise<void> {
  await execa('git', args, { cwd: dir, env });
}

async function commitAll(dir: string, message: string): Promise<void> {
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', message);
}

beforeAll(async () => {
  template = await tempDir({}, 'pxp-ws-');
  for (const name of PLUGINS) {
    const r = await runMain(['init', `plugins/${name}`, '--name', name, '--category', 'utility', '--yes'], { cwd: template, env: offline });
    expect(r.exitCode, r.stderr).toBe(0);
    await fs.writeFile(path.join(template, 'plugins', name, 'docs', 'README.md'), `# ${name}\n\nCounts messages and says so on its status endpoint.\n`);
  }
  await fs.mkdir(path.join(template, 'libs', 'plexi_common'), { recursive: true });
  await fs.writeFile(path.join(template, 'libs', 'plexi_common', '__init__.py'), 'def shout(text):\n    return text.upper()\n');
  for (const name of IMPORTERS) {
    const file = path.join(template, 'plugins', name, 'src', 'plugin.py');
    await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replace(/^import logging$/m, 'import logging\n\nfrom plexi_common import shout'));
    // A test that runs the library: it must be on the path.
    await fs.writeFile(
      path.join(template, 'plugins', name, 'tests', 'test_common.py'),
      'from plexi_common import shout\n\n\ndef test_shout():\n    assert shout("hi") == "HI"\n',
    );
  }
  await fs.writeFile(path.join(template, 'plexichat-workspace.yaml'), WORKSPACE);
  await git(template, 'init', '-q');
  await commitAll(template, 'three plugins and a library');
}, 120_000);

/** A fresh copy of the repository. */
async function repo(): Promise<string> {
  const dir = await tempDir({}, 'pxp-ws-');
  await fs.cp(template, dir, { recursive: true });
  return dir;
}

type Doc = { ok: boolean; exitCode: number; selection: { mode: string }; plugins: { name: string; exitCode: number; reasons?: string[]; result?: unknown }[] };
const names = (d: Doc) => d.plugins.map((p) => p.name);

describe('check --all', () => {
  it('writes one SARIF log with a run per plugin, paths from the repository root, and exits 0', async () => {
    const dir = await repo();
    const r = await runMain(['check', '--all', '--format', 'sarif', '--output', 'check.sarif'], { cwd: dir, env });
    expect(r.exitCode, r.stderr).toBe(0);
    const log = JSON.parse(await fs.readFile(path.join(dir, 'check.sarif'), 'utf8')) as {
      runs: { automationDetails: { id: string }; originalUriBaseIds: { SRCROOT: { uri: string } }; properties: { path: string; plugin: { name: string } } }[];
    };
    expect(log.runs.map((x) => x.properties.plugin.name)).toEqual(PLUGINS);
    expect(new Set(log.runs.map((x) => x.automationDetails.id)).size).toBe(3);
    for (const run of log.runs) expect(run.originalUriBaseIds.SRCROOT.uri).toBe(`file://${dir}/`);
    expect(r.stdout).toMatch(/check: 3 of 3 plugins passed/);
    // Output grouped: each plugin's heading once, in workspace order.
    const heads = PLUGINS.map((n) => (r.stderr.indexOf(`── ${n} (plugins/${n}) ──`) >= 0 ? r.stderr.indexOf(`── ${n}`) : r.stdout.indexOf(`── ${n}`)));
    expect(heads.every((h) => h >= 0)).toBe(true);
  }, 180_000);

  it('--format github: one set of annotations, each file named from the root', async () => {
    const dir = await repo();
    await fs.writeFile(path.join(dir, 'plugins', 'gamma_three', 'docs', 'README.md'), 'TODO: describe the plugin\n');
    const r = await runMain(['check', '--plugin', 'gamma_three', '--plugin', 'alpha_one', '--format', 'github'], { cwd: dir, env });
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(/^::(error|warning|notice)/);
    expect(r.stdout).toMatch(/file=plugins\/gamma_three\/docs\/README\.md/);
    expect(r.stdout).not.toMatch(/beta_two/);
  }, 180_000);
});

describe('--affected', () => {
  it('a change in one plugin runs only that plugin', async () => {
    const dir = await repo();
    await fs.appendFile(path.join(dir, 'plugins', 'gamma_three', 'src', 'plugin.py'), '# changed\n');
    await commitAll(dir, 'change gamma');
    const r = await runMain(['--json', 'validate', '--affected', '--base', 'HEAD~1'], { cwd: dir, env });
    expect(r.exitCode, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as Doc;
    expect(names(d)).toEqual(['gamma_three']);
    expect(d.plugins[0].reasons).toEqual(['changed files']);
  }, 60_000);

  it('a change in the library runs the two plugins that import it', async () => {
    const dir = await repo();
    await fs.appendFile(path.join(dir, 'libs', 'plexi_common', '__init__.py'), '# changed\n');
    await commitAll(dir, 'change the library');
    const r = await runMain(['--json', 'validate', '--affected', '--base', 'HEAD~1', '--head', 'HEAD'], { cwd: dir, env });
    expect(r.exitCode, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as Doc;
    expect(names(d)).toEqual(IMPORTERS);
    expect(d.plugins[0].reasons).toEqual(['library plexi_common']);
  }, 60_000);

  it('an uncommitted change counts without --head, and so does an untracked file', async () => {
    const dir = await repo();
    await fs.appendFile(path.join(dir, 'plugins', 'beta_two', 'src', 'plugin.py'), '# edited\n');
    await fs.writeFile(path.join(dir, 'plugins', 'gamma_three', 'src', 'extra.py'), 'X = 1\n');
    const d = JSON.parse((await runMain(['--json', 'validate', '--affected', '--base', 'HEAD'], { cwd: dir, env })).stdout) as Doc;
    expect(names(d)).toEqual(['beta_two', 'gamma_three']);
  }, 60_000);

  it('a change to the workspace file runs every plugin', async () => {
    const dir = await repo();
    await fs.appendFile(path.join(dir, 'plexichat-workspace.yaml'), '# note\n');
    const d = JSON.parse((await runMain(['--json', 'validate', '--affected', '--base', 'HEAD'], { cwd: dir, env })).stdout) as Doc;
    expect(names(d)).toEqual(PLUGINS);
  }, 60_000);

  it('no change runs nothing and says so (exit 0)', async () => {
    const dir = await repo();
    const r = await runMain(['validate', '--affected', '--base', 'HEAD'], { cwd: dir, env });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/no plugin affected since HEAD: nothing to run/);
    const j = await runMain(['--json', 'build', '--affected', '--base', 'HEAD'], { cwd: dir, env });
    expect(j.exitCode).toBe(0);
    expect((JSON.parse(j.stdout) as Doc).plugins).toEqual([]);
    expect(j.stderr).toMatch(/nothing to run/);
  }, 60_000);
});

describe('one failing plugin', () => {
  it('makes the exit code 1 while the others still report', async () => {
    const dir = await repo();
    const manifest = path.join(dir, 'plugins', 'beta_two', 'config', 'plugin.yaml');
    await fs.writeFile(manifest, (await fs.readFile(manifest, 'utf8')).replace(/version: .*/, 'version: not-a-version'));
    const r = await runMain(['--json', 'validate'], { cwd: dir, env });
    expect(r.exitCode).toBe(1);
    const d = JSON.parse(r.stdout) as Doc;
    expect(d.plugins.map((p) => [p.name, p.exitCode])).toEqual([
      ['alpha_one', 0],
      ['beta_two', 1],
      ['gamma_three', 0],
    ]);
    const h = await runMain(['build', '--all'], { cwd: dir, env });
    expect(h.exitCode).toBe(1);
    expect(h.stdout).toMatch(/build: 2 of 3 plugins passed, 1 failed/);
    expect(h.stdout).toMatch(/✖ beta_two/);
  }, 120_000);
});

describe('build --all', () => {
  it('gives three archives that verify, the library packed where it is imported, .env never', async () => {
    const dir = await repo();
    await fs.writeFile(path.join(dir, 'plugins', 'alpha_one', '.env'), 'API_KEY=not-for-the-archive\n');
    const r = await runMain(['--json', 'build', '--all', '--jobs', '2'], { cwd: dir, env });
    expect(r.exitCode, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as { plugins: { name: string; result: { archive: string; libraries: string[] } }[] };
    for (const p of d.plugins) {
      const v = await runMain(['verify', p.result.archive, '--expect', p.name], { cwd: dir, env });
      expect(v.exitCode, v.stderr).toBe(0);
      const entries = await readZipEntries(p.result.archive);
      const listing = JSON.parse(entries.get('plexichat-integrity.json')!) as { files: { path: string }[] };
      const packed = IMPORTERS.includes(p.name);
      expect(entries.has('plexi_common/__init__.py')).toBe(packed);
      expect(listing.files.some((f) => f.path === 'plexi_common/__init__.py')).toBe(packed);
      expect(p.result.libraries).toEqual(packed ? ['plexi_common'] : []);
      expect([...entries.keys()].some((k) => k.endsWith('.env'))).toBe(false);
    }
  }, 120_000);

  it('a library file named like a secret refuses the build of the plugins that import it', async () => {
    const dir = await repo();
    await fs.writeFile(path.join(dir, 'libs', 'plexi_common', 'id_rsa'), 'x\n');
    const r = await runMain(['--json', 'build', '--all'], { cwd: dir, env });
    expect(r.exitCode).toBe(1);
    const d = JSON.parse(r.stdout) as { plugins: { name: string; exitCode: number; error?: { code: string } }[] };
    expect(d.plugins.map((p) => p.error?.code ?? 'ok')).toEqual(['SECRET_FOUND', 'SECRET_FOUND', 'ok']);
  }, 120_000);
});

describe('inside one plugin folder', () => {
  it('validate behaves as outside a workspace', async () => {
    const dir = await repo();
    const r = await runMain(['--json', 'validate'], { cwd: path.join(dir, 'plugins', 'alpha_one', 'src'), env });
    expect(r.exitCode, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(d.plugins).toBeUndefined();
    expect((d.manifest as { plugin: { name: string } }).plugin.name).toBe('alpha_one');
  });

  it('test puts the shared library on the path (the plugin imports it)', async () => {
    const dir = await repo();
    const r = await runCli(['test'], { cwd: path.join(dir, 'plugins', 'alpha_one'), env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr + r.stdout).toMatch(/tests passed: 10 passed/);
  }, 120_000);
});

describe('a plugin folder inside a workspace', () => {
  it('build packs the imported library as build --all does, and check passes with it on the path', async () => {
    const dir = await repo();
    const plugin = path.join(dir, 'plugins', 'beta_two');
    const b = await runMain(['--json', 'build', '--no-sign'], { cwd: plugin, env });
    expect(b.exitCode, b.stderr).toBe(0);
    const entries = await readZipEntries((JSON.parse(b.stdout) as { archive: string }).archive);
    expect(entries.get('plexi_common/__init__.py')).toContain('def shout');
    const c = await runMain(['--json', 'check'], { cwd: plugin, env });
    expect(c.exitCode, c.stdout).toBe(0);
    const g = await runMain(['--json', 'build', '--no-sign'], { cwd: path.join(dir, 'plugins', 'gamma_three'), env });
    expect([...(await readZipEntries((JSON.parse(g.stdout) as { archive: string }).archive)).keys()].some((k) => k.startsWith('plexi_common/'))).toBe(false);
  }, 120_000);

  it('prepare takes the archive with its library as fresh, and calls it stale when the library changes', async () => {
    const dir = await repo();
    const plugin = path.join(dir, 'plugins', 'beta_two');
    const b = await runMain(['build', '--no-sign'], { cwd: plugin, env });
    expect(b.exitCode, b.stderr).toBe(0);
    const fresh = await runMain(['marketplace', 'prepare'], { cwd: plugin, env });
    expect(fresh.exitCode, fresh.stderr).toBe(0);
    await fs.writeFile(path.join(dir, 'libs', 'plexi_common', '__init__.py'), 'def shout(text):\n    return text.lower()\n');
    const stale = await runMain(['marketplace', 'prepare'], { cwd: plugin, env });
    expect(stale.exitCode).toBe(1);
    expect(stale.stderr).toContain('plexi_common/__init__.py changed since it was built');
    await fs.writeFile(path.join(dir, 'libs', 'plexi_common', 'extra.py'), 'X = 1\n');
    const added = await runMain(['marketplace', 'prepare'], { cwd: plugin, env });
    expect(added.stderr).toContain('plexi_common/extra.py added');
  }, 120_000);
});

describe('refusals', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown --plugin', ['validate', '--plugin', 'alpha_on'], /no such plugin in the workspace \(did you mean 'alpha_one'\?\)/],
    ['--base without --affected', ['validate', '--all', '--base', 'HEAD'], /--base applies to --affected/],
    ['--head without --affected', ['check', '--head', 'HEAD'], /--head applies to --affected/],
    ['--affected without --base', ['build', '--affected'], /--affected needs --base REF/],
    ['two ways to choose', ['validate', '--all', '--plugin', 'alpha_one'], /--all and --plugin choose plugins two ways/],
    ['a base that does not exist', ['validate', '--affected', '--base', 'no-such-branch'], /--affected: no-such-branch/],
    ['a single-plugin flag', ['validate', '--all', '--against', 'published'], /--against applies to one plugin/],
    ['pytest arguments', ['test', '--all', '--', '-k', 'x'], /pytest arguments apply to one plugin/],
    ['--jobs 0', ['check', '--all', '--jobs', '0'], /--jobs must be between 1 and 64/],
  ];
  for (const [what, args, message] of cases) {
    it(`${what}: exit 2, one line`, async () => {
      const dir = await repo();
      const r = await runMain(args, { cwd: dir, env });
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }

  it('--all outside a workspace: NO_WORKSPACE, exit 2', async () => {
    const dir = await tempDir({}, 'pxp-ws-');
    const r = await runMain(['--json', 'validate', '--all'], { cwd: dir, env });
    expect(r.exitCode).toBe(2);
    expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).toBe('NO_WORKSPACE');
  });

  const files: [string, string, RegExp][] = [
    [
      'a token value in a target',
      'plugins: [plugins/*]\ntargets:\n  staging:\n    url: https://m.example\n    token: abc\n',
      /a token in plexichat-workspace\.yaml is refused/,
    ],
    [
      'a password in a target',
      'plugins: [plugins/*]\ntargets:\n  prod:\n    url: https://m.example\n    password: abc\n',
      /is refused \(the file is committed\)/,
    ],
    ['no plugins key', 'libraries: [libs/*]\n', /needs plugins:/],
    ['an unknown key', 'plugins: [plugins/*]\nplugin: x\n', /unknown key plugin/],
    ['a glob leaving the workspace', 'plugins: [../elsewhere/*]\n', /must be a folder inside the workspace/],
    ['a library that is no package', 'plugins: [plugins/*]\nlibraries: [plugins]\n', /is not a Python package/],
    ['broken YAML', 'plugins: [plugins/*\n', /plexichat-workspace\.yaml:\d+:\d+/],
  ];
  for (const [what, text, message] of files) {
    it(`a workspace file with ${what}: WORKSPACE_INVALID, exit 2`, async () => {
      const dir = await repo();
      await fs.writeFile(path.join(dir, 'plexichat-workspace.yaml'), text);
      const r = await runMain(['--json', 'validate', '--all'], { cwd: dir, env });
      expect(r.exitCode, r.stdout).toBe(2);
      const e = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
      expect(e.code).toBe('WORKSPACE_INVALID');
      expect(e.message).toMatch(message);
    });
  }
});

describe('init inside a workspace', () => {
  it('adds the new plugin to plugins:, keeping the comments, when no glob covers it', async () => {
    const dir = await repo();
    const r = await runMain(['--json', 'init', 'extra/delta_four', '--name', 'delta_four', '--category', 'utility', '--yes'], { cwd: dir, env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).workspace).toMatchObject({ entry: 'extra/delta_four', added: true });
    const text = await fs.readFile(path.join(dir, 'plexichat-workspace.yaml'), 'utf8');
    expect(text).toContain('# every plugin folder');
    expect(text).toMatch(/- plugins\/\*[^\n]*\n\s+- extra\/delta_four\n/);
    const d = JSON.parse((await runMain(['--json', 'validate', '--all'], { cwd: dir, env })).stdout) as Doc;
    expect(names(d)).toContain('delta_four');
  });

  it('leaves the file alone when a glob covers the folder', async () => {
    const dir = await repo();
    const before = await fs.readFile(path.join(dir, 'plexichat-workspace.yaml'), 'utf8');
    const r = await runMain(['init', 'plugins/delta_four', '--name', 'delta_four', '--category', 'utility', '--yes'], { cwd: dir, env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/plexichat-workspace\.yaml already covers plugins\/delta_four/);
    expect(await fs.readFile(path.join(dir, 'plexichat-workspace.yaml'), 'utf8')).toBe(before);
  });

  it('an invalid workspace file stops init before anything is written', async () => {
    const dir = await repo();
    await fs.writeFile(path.join(dir, 'plexichat-workspace.yaml'), 'plugins: plugins/*\n');
    const r = await runMain(['init', 'plugins/delta_four', '--name', 'delta_four', '--category', 'utility', '--yes'], { cwd: dir, env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/WORKSPACE|plexichat-workspace\.yaml:1/);
    await expect(fs.stat(path.join(dir, 'plugins', 'delta_four'))).rejects.toThrow();
  });
});
