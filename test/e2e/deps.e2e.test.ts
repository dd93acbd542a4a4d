/**
 * `deps lock` and `deps sync` with the real pip, offline: the wheels are
 * made here (small real wheels, and pytest, PyYAML and their dependencies
 * repacked from the interpreter's own installed distributions), served as a
 * PEP 503 simple index over HTTP on 127.0.0.1 and as a --find-links folder.
 * Every JSON document is checked against its schema.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pythonWith, requiresEach } from '../helpers/requires.js';
import { hasStackTrace, runCli } from '../helpers/run-cli.js';
import { tempDir, writeTree } from '../helpers/temp-project.js';
import { makeWheel, WHEELS_PY } from '../helpers/wheel-files.js';
import { serveIndex, type Pep503Index } from '../helpers/pep503-index.js';

requiresEach('pip');

// pip runs (and a venv is made) in most cases: minutes on a loaded machine.
vi.setConfig({ testTimeout: 600_000 });

const SCHEMAS = fileURLToPath(new URL('../../schemas/', import.meta.url));

const ajv = new Ajv2020({ strict: true, allErrors: true });
for (const f of ['common', 'error', 'deps-lock', 'deps-sync'])
  ajv.addSchema(JSON.parse(await fs.readFile(path.join(SCHEMAS, `${f}.schema.json`), 'utf8')) as object);

function doc(name: 'deps-lock' | 'deps-sync', stdout: string): Record<string, unknown> {
  const d = JSON.parse(stdout) as Record<string, unknown>;
  const validate = ajv.getSchema(`${name}.schema.json`)!;
  expect(validate(d), JSON.stringify(validate.errors)).toBe(true);
  return d;
}

const python = pythonWith('pip', 'venv', 'ensurepip', 'pytest', 'yaml') ?? 'python3';
let wheelhouse: string;
let index: Pep503Index;

beforeAll(async () => {
  wheelhouse = await tempDir({}, 'pxp-wheels-');
  // What `test` needs in the plugin's environment, as wheels of the interpreter's own installs (with what they need).
  await execa(python, [WHEELS_PY, 'repack', wheelhouse, 'pytest', 'PyYAML']);
  await makeWheel(python, wheelhouse, 'alpha', '1.0.0', { requires: ['beta>=2'] });
  await makeWheel(python, wheelhouse, 'alpha', '1.1.0', { requires: ['beta>=2'] });
  await makeWheel(python, wheelhouse, 'beta', '2.0.0');
  await makeWheel(python, wheelhouse, 'beta', '2.1.0', { requires: ['gamma; extra == "fast"'] });
  // One with a platform tag, built for two platforms; PyYAML for the other platform too (resolved there, never installed).
  await makeWheel(python, wheelhouse, 'gamma', '1.0.0', { tag: 'cp311-cp311-manylinux_2_17_x86_64' });
  await makeWheel(python, wheelhouse, 'gamma', '1.0.0', { tag: 'cp311-cp311-macosx_11_0_arm64' });
  await makeWheel(python, wheelhouse, 'PyYAML', '6.0.3', { tag: 'cp311-cp311-macosx_11_0_arm64' });
  index = await serveIndex(wheelhouse);
}, 120_000);

afterAll(async () => {
  await index?.close();
});

async function plugin(packages: string[], extra: Record<string, string> = {}): Promise<string> {
  const dir = await tempDir();
  const list = packages.length ? `\n${packages.map((p) => `    - "${p}"`).join('\n')}` : ' []';
  await writeTree(dir, {
    config: {
      'plugin.yaml': [
        'plugin:',
        '  name: deps_demo',
        '  version: 1.0.0',
        '  description: A plugin with dependencies',
        '  author: Test',
        'metadata:',
        '  category: utility',
        '  license: MIT',
        'dependencies:',
        '  core: ">=2.0.0"',
        '  python: ">=3.8"',
        `  packages:${list}`,
        'permissions:',
        '  required: [message_read]',
        'resources:',
        '  limits: { cpu: "200m", memory: "256Mi" }',
        '  requests: { cpu: "50m", memory: "64Mi" }',
        '',
      ].join('\n'),
    },
    src: { '__init__.py': '', 'main.py': 'class DemoPlugin:\n    pass\n' },
    ...extra,
  });
  return dir;
}

const cli = (args: string[], cwd: string, env: Record<string, string | undefined> = {}) => runCli(args, { cwd, env, timeout: 300_000 });

/** Every file and folder under dir with its size and modification time (what a reinstall would change). */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    const p = path.join(e.parentPath ?? e.path, e.name);
    const st = await fs.lstat(p);
    out[path.relative(dir, p)] = `${st.size} ${st.mtimeMs}`;
  }
  return out;
}

function lockText(dir: string): Promise<string> {
  return fs.readFile(path.join(dir, 'pylock.toml'), 'utf8');
}

describe('deps lock', () => {
  it('resolves through a PEP 503 index with pip: exact versions and the sha256 the index gave, the same bytes on a second run', async () => {
    const dir = await plugin(['alpha>=1.0']);
    const r = await cli(['--json', 'deps', 'lock', '--python', python, '--index-url', index.url], dir);
    expect(r.exitCode, r.stderr).toBe(0);
    const d = doc('deps-lock', r.stdout);
    expect(d).toMatchObject({ checked: false, written: true });
    const pkgs = d.packages as { name: string; version: string; group: string }[];
    expect(pkgs).toContainEqual({ name: 'alpha', version: '1.1.0', group: 'runtime' });
    expect(pkgs).toContainEqual({ name: 'beta', version: '2.1.0', group: 'runtime' });
    expect(pkgs).toContainEqual({ name: 'pyyaml', version: expect.any(String), group: 'runtime' });
    expect(pkgs).toContainEqual({ name: 'pytest', version: expect.any(String), group: 'dev' });
    // beta's extra was not asked for: gamma is not locked.
    expect(pkgs.map((p) => p.name)).not.toContain('gamma');
    const text = await lockText(dir);
    expect(text).toContain('lock-version = "1.0"');
    const sha = createHash('sha256')
      .update(await fs.readFile(path.join(wheelhouse, 'alpha-1.1.0-py3-none-any.whl')))
      .digest('hex');
    expect(text).toContain(sha);
    expect(text).toContain(`url = "http://127.0.0.1:`);
    expect(index.hits.some((h) => h.startsWith('/simple/alpha/'))).toBe(true);
    const again = await cli(['--json', 'deps', 'lock', '--python', python, '--index-url', index.url], dir);
    expect(doc('deps-lock', again.stdout)).toMatchObject({ written: false });
    expect(await lockText(dir)).toBe(text);
  });

  it("takes pip's own configuration: PIP_INDEX_URL, or PIP_FIND_LINKS with PIP_NO_INDEX (an offline wheelhouse), with no flag", async () => {
    const dir = await plugin(['alpha<1.1']);
    const viaEnv = await cli(['deps', 'lock', '--python', python], dir, { PIP_INDEX_URL: index.url });
    expect(viaEnv.exitCode, viaEnv.stderr).toBe(0);
    expect(await lockText(dir)).toMatch(/name = "alpha"\nversion = "1\.0\.0"/);
    await fs.rm(path.join(dir, 'pylock.toml'));
    const offline = await cli(['deps', 'lock', '--python', python], dir, { PIP_FIND_LINKS: wheelhouse, PIP_NO_INDEX: '1' });
    expect(offline.exitCode, offline.stderr).toBe(0);
    expect(offline.stdout).toMatch(/wrote pylock\.toml/);
  });

  it('a --find-links folder: files are named by a path relative to the lock, so a wheelhouse in the repository works on any clone', async () => {
    const dir = await plugin(['beta==2.0.0']);
    await fs.cp(wheelhouse, path.join(dir, 'wheels'), { recursive: true });
    const r = await cli(['deps', 'lock', '--python', python, '--no-index', '--find-links', 'wheels'], dir);
    expect(r.exitCode, r.stderr).toBe(0);
    const text = await lockText(dir);
    expect(text).toContain('path = "wheels/beta-2.0.0-py3-none-any.whl"');
    expect(text).not.toContain(dir);
  });

  it('locks for other platforms: wheels only, a platform wheel per target, each target named by its marker', async () => {
    const dir = await plugin(['gamma>=1']);
    const args = ['--json', 'deps', 'lock', '--python', python, '--no-index', '--find-links', wheelhouse, '--python-version', '3.11'];
    const r = await cli([...args, '--platform', 'manylinux_2_17_x86_64', '--platform', 'macosx_11_0_arm64'], dir);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc('deps-lock', r.stdout).targets).toEqual(['Python 3.11 on manylinux_2_17_x86_64', 'Python 3.11 on macosx_11_0_arm64']);
    const text = await lockText(dir);
    expect(text).toContain('gamma-1.0.0-cp311-cp311-manylinux_2_17_x86_64.whl');
    expect(text).toContain('gamma-1.0.0-cp311-cp311-macosx_11_0_arm64.whl');
    expect(text).toContain(`"python_version == '3.11' and sys_platform == 'darwin' and platform_machine == 'arm64'"`);
    // A later lock with no target flags keeps the lock's own targets.
    const again = await cli(['--json', 'deps', 'lock', '--python', python, '--no-index', '--find-links', wheelhouse], dir);
    expect(doc('deps-lock', again.stdout), again.stdout).toMatchObject({ written: false });
    // A target pip cannot satisfy names the target and pip's words; the lock is left as it was.
    const before = await lockText(dir);
    const none = await cli([...args, '--platform', 'win_amd64'], dir);
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toMatch(/error: pip could not resolve the dependencies for Python 3\.11 on win_amd64: .*gamma/);
    expect(await lockText(dir)).toBe(before);
  });

  it('refuses what it cannot lock, before pip runs or as pip says, with the right code and nothing written', async () => {
    const cases: { packages: string[]; args?: string[]; exit: number; code: string; message: RegExp }[] = [
      { packages: ['alpha>=9'], exit: 1, code: 'DEPS_UNRESOLVED', message: /alpha/ },
      // The manifest's own rule refuses what is not a requirement, before pip runs.
      { packages: ['alpha @ https://example.invalid/alpha.whl'], exit: 1, code: 'MANIFEST_INVALID', message: /INVALID_REQUIREMENT/ },
      { packages: ['alpha>=>1'], exit: 1, code: 'MANIFEST_INVALID', message: /INVALID_REQUIREMENT/ },
      { packages: ['alpha'], args: ['--python-version', '3.7'], exit: 1, code: 'DEPS_TARGET_OUTSIDE', message: /Python 3\.7 .*outside .*>=3\.8/ },
      { packages: ['alpha'], args: ['--python-version', 'three'], exit: 2, code: 'USAGE', message: /--python-version three/ },
      { packages: ['alpha'], args: ['--platform', 'amiga_68k'], exit: 2, code: 'USAGE', message: /--platform amiga_68k/ },
    ];
    for (const c of cases) {
      const dir = await plugin(c.packages);
      const r = await cli(['--json', 'deps', 'lock', '--python', python, '--no-index', '--find-links', wheelhouse, ...(c.args ?? [])], dir);
      const d = doc('deps-lock', r.stdout) as { error: { code: string; message: string } };
      expect({ exit: r.exitCode, code: d.error.code }, c.packages.join()).toEqual({ exit: c.exit, code: c.code });
      expect(d.error.message).toMatch(c.message);
      expect(d.error.message).not.toContain('\n');
      expect(hasStackTrace(r.stderr)).toBe(false);
      await expect(fs.stat(path.join(dir, 'pylock.toml'))).rejects.toThrow();
    }
  });
});

describe('deps lock --check (for CI)', () => {
  it('passes while the lock satisfies the manifest; a changed range, an added or removed package, a target outside python fail with each problem', async () => {
    const dir = await plugin(['alpha>=1.0', 'beta']);
    expect((await cli(['deps', 'lock', '--python', python, '--no-index', '--find-links', wheelhouse], dir)).exitCode).toBe(0);
    const pass = await cli(['--json', 'deps', 'lock', '--check'], dir);
    expect(pass.exitCode, pass.stderr).toBe(0);
    expect(doc('deps-lock', pass.stdout)).toMatchObject({ checked: true, written: false });
    const manifest = path.join(dir, 'config', 'plugin.yaml');
    const original = await fs.readFile(manifest, 'utf8');
    const lock = await lockText(dir);
    const check = async (edit: (s: string) => string) => {
      await fs.writeFile(manifest, edit(original));
      const r = await cli(['--json', 'deps', 'lock', '--check'], dir);
      expect(r.exitCode).toBe(1);
      expect(await lockText(dir)).toBe(lock);
      return (doc('deps-lock', r.stdout) as { error: { code: string; lockProblems: { subject: string; problem: string }[] } }).error;
    };
    // A widened range that still admits the locked version holds.
    await fs.writeFile(manifest, original.replace('alpha>=1.0', 'alpha>=0.5'));
    expect((await cli(['deps', 'lock', '--check'], dir)).exitCode).toBe(0);
    const narrowed = await check((s) => s.replace('alpha>=1.0', 'alpha>=1.2'));
    expect(narrowed).toMatchObject({ code: 'LOCK_STALE', lockProblems: [{ subject: 'alpha>=1.2', problem: 'the lock has alpha 1.1.0, outside >=1.2' }] });
    const added = await check((s) => s.replace('    - "beta"', '    - "beta"\n    - "gamma"'));
    expect(added.lockProblems).toEqual([{ subject: 'gamma', problem: expect.stringMatching(/not in the lock/) }]);
    const removed = await check((s) => s.replace('    - "beta"\n', ''));
    expect(removed.lockProblems).toEqual([{ subject: 'beta', problem: 'locked, but no longer in the manifest' }]);
    const python312 = await check((s) => s.replace('python: ">=3.8"', 'python: ">=3.12"'));
    expect(python312.lockProblems[0]).toMatchObject({ problem: 'outside dependencies.python (>=3.12)' });
  });

  it('a missing, unreadable or foreign lock is its own error', async () => {
    const dir = await plugin(['alpha']);
    const none = await cli(['--json', 'deps', 'lock', '--check'], dir);
    expect(none.exitCode).toBe(1);
    expect((doc('deps-lock', none.stdout) as { error: { code: string } }).error.code).toBe('LOCK_NOT_FOUND');
    for (const [text, want] of [
      ['lock-version = "1.0"\n[[packages]]\nname = "x"\nversion = "1"\n', /no \[tool\.plexichat\] table/],
      ['this is = = not toml', /TOML syntax/],
      ['lock-version = "2.0"\n', /lock-version is "2\.0"/],
    ] as const) {
      await fs.writeFile(path.join(dir, 'pylock.toml'), text);
      const r = await cli(['--json', 'deps', 'lock', '--check'], dir);
      const d = doc('deps-lock', r.stdout) as { error: { code: string; message: string } };
      expect({ exit: r.exitCode, code: d.error.code }).toEqual({ exit: 1, code: 'LOCK_INVALID' });
      expect(d.error.message).toMatch(want);
    }
    await fs.rm(path.join(dir, 'pylock.toml'));
    await fs.mkdir(path.join(dir, 'pylock.toml'));
    const folder = await cli(['--json', 'deps', 'lock', '--check'], dir);
    expect((doc('deps-lock', folder.stdout) as { error: { code: string } }).error.code).toBe('NOT_A_REGULAR_FILE');
  });
});

describe('deps sync', () => {
  it('makes .venv with exactly the lock (hash-checked) and the SDK; test runs in it; a second sync does nothing; strays are removed', async () => {
    const dir = await plugin(['alpha>=1.0'], {
      tests: { 'test_alpha.py': 'import alpha, beta, yaml\n\ndef test_versions():\n    assert alpha.VERSION == "1.1.0"\n    assert beta.VERSION == "2.1.0"\n' },
    });
    expect((await cli(['deps', 'lock', '--python', python, '--index-url', index.url], dir)).exitCode).toBe(0);
    const first = await cli(['--json', 'deps', 'sync', '--python', python, '--index-url', index.url], dir);
    expect(first.exitCode, first.stderr).toBe(0);
    const d = doc('deps-sync', first.stdout) as { created: boolean; installed: { name: string }[]; sdk: { installed: boolean }; python: string };
    expect(d.created).toBe(true);
    expect(d.installed.map((p) => p.name)).toEqual(expect.arrayContaining(['alpha', 'beta', 'pyyaml', 'pytest']));
    expect(d.sdk.installed).toBe(true);
    expect(d.python).toBe(path.join(dir, '.venv', 'bin', 'python'));
    // The system interpreter has no alpha: the tests pass only inside .venv, and `test` says it used it.
    const t = await cli(['test'], dir);
    expect(t.exitCode, t.stdout + t.stderr).toBe(0);
    expect(t.stdout + t.stderr).toMatch(/the plugin's virtual environment/);
    // Nothing to do: no pip run at all (the index sees no request), and not one file of the environment is touched.
    const hits = index.hits.length;
    const before = await tree(path.join(dir, '.venv'));
    const second = await cli(['--json', 'deps', 'sync', '--index-url', index.url], dir);
    expect(doc('deps-sync', second.stdout)).toMatchObject({ created: false, installed: [], removed: [], sdk: { installed: false } });
    expect(index.hits.length).toBe(hits);
    const human = await cli(['deps', 'sync', '--index-url', index.url], dir);
    expect(human.stdout).toMatch(/\.venv is up to date with pylock\.toml \(\d+ packages and the SDK [^;]+; nothing reinstalled\)/);
    expect(await tree(path.join(dir, '.venv'))).toEqual(before);
    // A package installed by hand is not in the lock: sync removes it.
    const pip = await execa(path.join(dir, '.venv', 'bin', 'python'), ['-m', 'pip', 'install', '--no-index', '--find-links', wheelhouse, 'gamma'], {
      reject: false,
    });
    expect(pip.exitCode, pip.stderr).toBe(0);
    const third = await cli(['--json', 'deps', 'sync', '--index-url', index.url], dir);
    expect(doc('deps-sync', third.stdout)).toMatchObject({ installed: [], removed: [{ name: 'gamma', version: '1.0.0' }] });
    // The lock moves (a narrower range): sync follows, and a stale lock is refused first.
    const manifest = path.join(dir, 'config', 'plugin.yaml');
    await fs.writeFile(manifest, (await fs.readFile(manifest, 'utf8')).replace('alpha>=1.0', 'alpha<1.1'));
    const stale = await cli(['--json', 'deps', 'sync'], dir);
    expect((doc('deps-sync', stale.stdout) as { error: { code: string } }).error.code).toBe('LOCK_STALE');
    expect((await cli(['deps', 'lock', '--python', python, '--index-url', index.url], dir)).exitCode).toBe(0);
    const fourth = await cli(['--json', 'deps', 'sync', '--index-url', index.url], dir);
    expect(doc('deps-sync', fourth.stdout)).toMatchObject({ installed: [{ name: 'alpha', version: '1.0.0' }], removed: [] });
  });

  it('resyncs when the lock changes under the same version (another file, new sha256) or the environment is changed by hand', async () => {
    const dir = await plugin(['beta==2.0.0']);
    const wheels = path.join(dir, 'wheels');
    await fs.mkdir(wheels);
    await fs.copyFile(path.join(wheelhouse, 'beta-2.0.0-py3-none-any.whl'), path.join(wheels, 'beta-2.0.0-py3-none-any.whl'));
    await execa(python, [WHEELS_PY, 'repack', wheels, 'pytest', 'PyYAML']);
    const lock = ['deps', 'lock', '--python', python, '--no-index', '--find-links', 'wheels'];
    expect((await cli(lock, dir)).exitCode).toBe(0);
    expect((await cli(['deps', 'sync', '--python', python, '--no-index'], dir)).exitCode).toBe(0);
    // The wheelhouse's beta 2.0.0 is rebuilt (other bytes, same version) and locked again: sync replaces it.
    const other = await tempDir();
    await makeWheel(python, other, 'beta', '2.0.0', { requires: ['alpha; extra == "never"'] });
    await fs.copyFile(path.join(other, 'beta-2.0.0-py3-none-any.whl'), path.join(wheels, 'beta-2.0.0-py3-none-any.whl'));
    const relock = await cli(lock, dir);
    expect(relock.exitCode, relock.stderr).toBe(0);
    const r = await cli(['--json', 'deps', 'sync', '--no-index'], dir);
    expect(doc('deps-sync', r.stdout)).toMatchObject({ installed: [{ name: 'beta', version: '2.0.0' }], removed: [] });
    const lib = path.join(dir, '.venv', 'lib');
    const [pyDir] = await fs.readdir(lib);
    const meta = await fs.readFile(path.join(lib, pyDir, 'site-packages', 'beta-2.0.0.dist-info', 'METADATA'), 'utf8');
    expect(meta).toMatch(/Requires-Dist: alpha; extra == "never"/);
    // Removed by hand (the record no longer matches the environment): sync puts it back.
    const pip = await execa(path.join(dir, '.venv', 'bin', 'python'), ['-m', 'pip', 'uninstall', '--yes', 'beta'], { reject: false });
    expect(pip.exitCode, pip.stderr).toBe(0);
    const again = await cli(['--json', 'deps', 'sync', '--no-index'], dir);
    expect(doc('deps-sync', again.stdout)).toMatchObject({ installed: [{ name: 'beta', version: '2.0.0' }] });
    // Then nothing to do again.
    const still = await cli(['--json', 'deps', 'sync', '--no-index'], dir);
    expect(doc('deps-sync', still.stdout)).toMatchObject({ installed: [], removed: [], sdk: { installed: false } });
  });

  it('a wheel that differs from the locked one is refused (HASH_MISMATCH, naming it), and an environment this run made is not left behind', async () => {
    const dir = await plugin(['beta==2.0.0']);
    const wheels = path.join(dir, 'wheels');
    await fs.cp(wheelhouse, wheels, { recursive: true });
    expect((await cli(['deps', 'lock', '--python', python, '--no-index', '--find-links', 'wheels'], dir)).exitCode).toBe(0);
    // Another beta 2.0.0 with the same name: the file on the "index" was replaced.
    const other = await tempDir();
    await makeWheel(python, other, 'beta', '2.0.0', { requires: ['six'] });
    await fs.copyFile(path.join(other, 'beta-2.0.0-py3-none-any.whl'), path.join(wheels, 'beta-2.0.0-py3-none-any.whl'));
    // No index flag: the lock's own folder of local files is where pip looks.
    const r = await cli(['--json', 'deps', 'sync', '--python', python, '--no-index'], dir);
    const d = doc('deps-sync', r.stdout) as { error: { code: string; message: string } };
    expect({ exit: r.exitCode, code: d.error.code }).toEqual({ exit: 1, code: 'HASH_MISMATCH' });
    expect(d.error.message).toMatch(/beta==2\.0\.0/);
    await expect(fs.stat(path.join(dir, '.venv'))).rejects.toThrow();
  });

  it('refuses a .venv that is not an environment (and leaves it as it was), and a lock with nothing for this machine', async () => {
    const dir = await plugin(['alpha']);
    expect((await cli(['deps', 'lock', '--python', python, '--no-index', '--find-links', wheelhouse], dir)).exitCode).toBe(0);
    await writeTree(dir, { '.venv': { 'notes.txt': 'mine' } });
    const r = await cli(['--json', 'deps', 'sync', '--python', python], dir);
    expect((doc('deps-sync', r.stdout) as { error: { code: string } }).error.code).toBe('VENV_INVALID');
    expect(await fs.readFile(path.join(dir, '.venv', 'notes.txt'), 'utf8')).toBe('mine');
    await fs.rm(path.join(dir, '.venv'), { recursive: true });
    const mac = await cli(
      ['deps', 'lock', '--python', python, '--no-index', '--find-links', wheelhouse, '--python-version', '3.11', '--platform', 'macosx_11_0_arm64'],
      dir,
    );
    expect(mac.exitCode, mac.stderr).toBe(0);
    const none = await cli(['--json', 'deps', 'sync', '--python', python], dir);
    const d = doc('deps-sync', none.stdout) as { error: { code: string; message: string } };
    expect(d.error.code).toBe('LOCK_NO_TARGET');
    expect(d.error.message).toMatch(/locked for Python 3\.11 on macosx_11_0_arm64/);
  });
});
