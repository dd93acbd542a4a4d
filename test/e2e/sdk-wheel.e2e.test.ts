/**
 * `sdk wheel`: the bundled SDK as a standard wheel, built offline, that pip
 * installs into a fresh virtual environment with no package index; a bare
 * pytest in that environment then runs a scaffold's tests, and `test` and
 * `dev` take the plugin's own environment first, saying so.
 *
 * The venv is made with --system-site-packages from a Python that has pytest
 * and PyYAML (Debian's python3-pytest and python3-yaml), as there is no index
 * to install them from.
 */
import { execa } from 'execa';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pythonWith, requires } from '../helpers/requires.js';
import { runCli } from '../helpers/run-cli.js';
import { tempDir } from '../helpers/temp-project.js';

/** A Python script that checks a wheel as pip would: every RECORD line's sha256 and size, and the metadata. */
const CHECK = `
import base64, hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = z.namelist()
info = [n for n in names if n.endswith(".dist-info/RECORD")]
assert len(info) == 1, names
bad = []
for line in z.read(info[0]).decode().splitlines():
    name, digest, size = line.rsplit(",", 2)
    if name == info[0]:
        continue
    data = z.read(name)
    want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    if digest != want or int(size) != len(data):
        bad.append(name)
recorded = {l.rsplit(",", 2)[0] for l in z.read(info[0]).decode().splitlines()}
meta = z.read(info[0].replace("RECORD", "METADATA")).decode()
wheel = z.read(info[0].replace("RECORD", "WHEEL")).decode()
print(json.dumps({"bad": bad, "unrecorded": sorted(set(names) - recorded), "meta": meta, "wheel": wheel, "names": names}))
`;

async function wheel(out: string): Promise<string> {
  const r = await runCli(['--json', 'sdk', 'wheel', '--out', out]);
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout).wheel as string;
}

describe('sdk wheel', () => {
  it('writes a PEP 427 wheel: RECORD hashes every file, PyYAML its dependency, the same bytes every time', async () => {
    const first = await wheel(await tempDir());
    const second = await wheel(await tempDir());
    expect(path.basename(first)).toMatch(/^plexichat_plugin_sdk-\d+\.\d+\.\d+-py3-none-any\.whl$/);
    expect(await fs.readFile(first)).toEqual(await fs.readFile(second));
    const r = await execa(pythonWith()!, ['-c', CHECK, first]);
    const doc = JSON.parse(r.stdout);
    expect(doc.bad).toEqual([]);
    expect(doc.unrecorded).toEqual([]);
    expect(doc.meta).toMatch(/^Metadata-Version: 2\.1\nName: plexichat-plugin-sdk\nVersion: \d+\.\d+\.\d+\n/);
    expect(doc.meta).toContain('\nRequires-Dist: PyYAML>=5.1\n');
    expect(doc.meta).toContain('\nRequires-Python: >=3.8\n');
    expect(doc.wheel).toContain('Root-Is-Purelib: true\nTag: py3-none-any\n');
    expect(doc.names).toContain('plexichat_plugin_sdk/pytest_plugin.py');
    expect(doc.names.filter((n: string) => /__pycache__|\.pyc$/.test(n))).toEqual([]);
  });

  it('installs offline into a fresh venv; a bare pytest runs a scaffold, and test takes that venv first, saying so', async (ctx) => {
    requires(ctx, 'venv');
    const python = pythonWith('pytest', 'yaml', 'venv', 'ensurepip')!;
    const root = await tempDir();
    const whl = await wheel(path.join(root, 'dist'));
    const init = await runCli(['init', 'greeter', '--name', 'greeter', '--category', 'utility'], { cwd: root });
    expect(init.exitCode, init.stderr).toBe(0);
    const dir = path.join(root, 'greeter');
    const env = { PIP_NO_INDEX: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1', PYTHONPATH: undefined, PYTHONDONTWRITEBYTECODE: '1' };
    await execa(python, ['-m', 'venv', '--system-site-packages', 'plugin-env'], { cwd: dir, env });
    const pip = await execa(path.join(dir, 'plugin-env/bin/pip'), ['install', '--no-index', whl], { cwd: dir, env, reject: false });
    expect(pip.exitCode, pip.stdout + pip.stderr).toBe(0);
    expect(pip.stdout).toMatch(/Successfully installed plexichat-plugin-sdk-/);

    // A bare pytest in the venv: the SDK comes from the wheel (no PYTHONPATH), the manifest is read with PyYAML.
    const bare = await execa(path.join(dir, 'plugin-env/bin/python'), ['-m', 'pytest', '-q', '-p', 'no:cacheprovider'], { cwd: dir, env, reject: false });
    expect(bare.exitCode, bare.stdout + bare.stderr).toBe(0);
    expect(bare.stdout).toMatch(/\d+ passed/);
    expect(bare.stdout).toMatch(/hooks 1\/1 exercised/);
    const where = await execa(path.join(dir, 'plugin-env/bin/python'), ['-c', 'import plexichat_plugin_sdk; print(plexichat_plugin_sdk.__file__)'], {
      cwd: '/',
      env,
    });
    expect(where.stdout).toContain(path.join(dir, 'plugin-env'));

    // test (and dev) use the plugin's own venv first when it has pytest, and say so.
    const t = await runCli(['test'], { cwd: dir, env: { PLEXICHAT_PYTHON: undefined, VIRTUAL_ENV: undefined } });
    expect(t.exitCode, t.stdout + t.stderr).toBe(0);
    expect(t.stderr).toContain(`python: ${path.join(dir, 'plugin-env/bin/python')} (the plugin's virtual environment;`);
    // A pin still wins.
    const pinned = await runCli(['test', '--python', python], { cwd: dir, env: { PLEXICHAT_PYTHON: undefined } });
    expect(pinned.exitCode, pinned.stderr).toBe(0);
    expect(pinned.stderr).not.toContain("the plugin's virtual environment");
  }, 600_000);

  it('a venv without pytest is passed over for one on PATH that has it', async (ctx) => {
    requires(ctx, 'venv');
    const python = pythonWith('pytest', 'yaml', 'venv', 'ensurepip')!;
    const root = await tempDir();
    const init = await runCli(['init', 'plain', '--name', 'plain_plugin', '--category', 'utility'], { cwd: root });
    expect(init.exitCode, init.stderr).toBe(0);
    const dir = path.join(root, 'plain');
    await execa(python, ['-m', 'venv', '--without-pip', '.venv'], { cwd: dir });
    const t = await runCli(['--verbose', 'test'], { cwd: dir, env: { PLEXICHAT_PYTHON: undefined, VIRTUAL_ENV: undefined } });
    expect(t.exitCode, t.stdout + t.stderr).toBe(0);
    expect(t.stderr).not.toContain("the plugin's virtual environment");
    expect(t.stderr).toMatch(/debug: python: .+ from path\)/);
  }, 300_000);
});
