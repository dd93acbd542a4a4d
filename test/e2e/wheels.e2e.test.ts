/**
 * `build --wheels` and `--split-platforms` with the real pip, offline: small
 * real wheels (pure, and one built for two platforms) in a --find-links
 * folder and behind a PEP 503 index on 127.0.0.1; the archives verify, and
 * a tampered, unlisted or wrong-platform wheel is refused by `verify` and by
 * the development marketplace (one rule: src/core/package/wheels.ts).
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pythonWith, requiresEach } from '../helpers/requires.js';
import { hasStackTrace, runCli } from '../helpers/run-cli.js';
import { tempDir, writeTree } from '../helpers/temp-project.js';
import { makeWheel, WHEELS_PY } from '../helpers/wheel-files.js';
import { serveIndex, type Pep503Index } from '../helpers/pep503-index.js';
import { startDevServer, type DevServer } from '../helpers/dev-server.js';
import { submit } from '../helpers/server-zips.js';

requiresEach('pip');
vi.setConfig({ testTimeout: 600_000 });

const python = pythonWith('pip', 'pytest', 'yaml') ?? 'python3';
const LINUX = 'manylinux_2_17_x86_64';
const MAC = 'macosx_11_0_arm64';
let wheelhouse: string;
let otherPythons: string;
let index: Pep503Index;
let srv: DevServer;

beforeAll(async () => {
  wheelhouse = await tempDir({}, 'pxp-wheels-');
  await execa(python, [WHEELS_PY, 'repack', wheelhouse, 'pytest']);
  await makeWheel(python, wheelhouse, 'alpha', '1.0.0', { requires: ['beta>=2'] });
  await makeWheel(python, wheelhouse, 'alpha', '1.1.0', { requires: ['beta>=2'] });
  await makeWheel(python, wheelhouse, 'beta', '2.0.0');
  await makeWheel(python, wheelhouse, 'delta', '0.5.0');
  // What the SDK needs at run time, pure (so a lock of pure wheels is one archive).
  await makeWheel(python, wheelhouse, 'PyYAML', '6.0.9');
  for (const tag of [LINUX, MAC]) await makeWheel(python, wheelhouse, 'gamma', '1.0.0', { tag: `cp311-cp311-${tag}` });
  // Built for other Pythons than the 3.11 the archives target (kept out of the index).
  otherPythons = await tempDir({}, 'pxp-wheels-py-');
  for (const tag of ['cp312-cp312', 'cp312-abi3', 'cp310-cp310', 'pp311-pypy311_pp73', 'cp38-abi3'])
    await makeWheel(python, otherPythons, 'gamma', '1.0.0', { tag: `${tag}-${LINUX}` });
  index = await serveIndex(wheelhouse);
  srv = await startDevServer();
}, 180_000);

afterAll(async () => {
  await index?.close();
  await srv?.stop();
});

async function plugin(packages: string[]): Promise<string> {
  const dir = await tempDir();
  await writeTree(dir, {
    config: {
      'plugin.yaml': [
        'plugin:',
        '  name: wheels_demo',
        '  version: 1.0.0',
        '  description: A plugin that packs its wheels',
        '  author: Test',
        'metadata:',
        '  category: utility',
        '  license: MIT',
        'dependencies:',
        '  core: ">=2.0.0"',
        '  python: ">=3.8"',
        `  packages:\n${packages.map((p) => `    - "${p}"`).join('\n')}`,
        'permissions:',
        '  required: [message_read]',
        'resources:',
        '  limits: { cpu: "200m", memory: "256Mi" }',
        '  requests: { cpu: "50m", memory: "64Mi" }',
        '',
      ].join('\n'),
    },
    src: { '__init__.py': '', 'main.py': 'class DemoPlugin:\n    pass\n' },
  });
  return dir;
}

const cli = (args: string[], cwd: string, env: Record<string, string | undefined> = {}) => runCli(args, { cwd, env, timeout: 300_000 });
const TARGETS = ['--python-version', '3.11', '--platform', LINUX, '--platform', MAC];

async function lock(dir: string, how: string[]): Promise<void> {
  const r = await cli(['deps', 'lock', '--python', python, ...how, ...TARGETS], dir);
  expect(r.exitCode, r.stderr).toBe(0);
}

/** Members of a zip (names). */
async function members(zip: string): Promise<string[]> {
  const r = await execa(python, ['-c', 'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', zip]);
  return r.stdout.split('\n');
}

/**
 * Rewrite an archive as a repacker would: replace or add members (name ->
 * file, or index.json edits), then write an integrity listing that matches
 * the new bytes, so only the lock's hashes can tell.
 */
const REPACK = `
import hashlib, json, sys, zipfile
src, out, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
z = zipfile.ZipFile(src)
data = {n: z.read(n) for n in z.namelist()}
for name, file in spec.get("put", {}).items():
    data[name] = open(file, "rb").read()
for name in spec.get("drop", []):
    data.pop(name)
if "list" in spec:
    idx = json.loads(data["wheels/index.json"])
    idx["wheels"].append(spec["list"])
    data["wheels/index.json"] = json.dumps(idx).encode()
lst = json.loads(data["plexichat-integrity.json"])
lst["files"] = [{"path": n, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()} for n, b in sorted(data.items()) if n != "plexichat-integrity.json"]
data["plexichat-integrity.json"] = json.dumps(lst).encode()
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as w:
    for n in sorted(data, key=lambda n: (n == "plexichat-integrity.json", n)):
        w.writestr(n, data[n])
`;

async function repack(src: string, out: string, spec: Record<string, unknown>): Promise<string> {
  await execa(python, ['-c', REPACK, src, out, JSON.stringify(spec)]);
  return out;
}

interface BuildDoc {
  archive: string;
  platform: string;
  wheels: { path: string; name: string; version: string; sha256: string }[];
  sbom: { file: string };
  variants?: BuildDoc[];
}

describe('build --wheels --split-platforms', () => {
  let dir: string;
  let linux: BuildDoc;
  let mac: BuildDoc;

  beforeAll(async () => {
    dir = await plugin(['alpha', 'gamma']);
    await lock(dir, ['--no-index', '--find-links', wheelhouse]);
  });

  it('gives one archive per platform, each with its own wheels, section, SBOM and signature, and each verifies', async () => {
    const key = path.join(dir, '..', `${path.basename(dir)}-key.pem`);
    expect((await cli(['keys', 'generate', '--out', key], dir)).exitCode).toBe(0);
    const r = await cli(['--json', 'build', '--wheels', '--split-platforms', '--sign', '--key', key], dir);
    expect(r.exitCode, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as BuildDoc;
    const all = [d, ...(d.variants ?? [])];
    expect(all.map((a) => path.basename(a.archive)).sort()).toEqual([`wheels_demo-1.0.0-${LINUX}.zip`, `wheels_demo-1.0.0-${MAC}.zip`].sort());
    linux = all.find((a) => a.platform === LINUX)!;
    mac = all.find((a) => a.platform === MAC)!;
    for (const [a, own, other] of [
      [linux, LINUX, MAC],
      [mac, MAC, LINUX],
    ] as const) {
      const names = await members(a.archive);
      expect(names).toContain(`wheels/gamma-1.0.0-cp311-cp311-${own}.whl`);
      expect(names).toContain('wheels/PyYAML-6.0.9-py3-none-any.whl');
      expect(names).toContain('wheels/alpha-1.1.0-py3-none-any.whl');
      expect(names).toContain('wheels/beta-2.0.0-py3-none-any.whl');
      expect(names).toContain('wheels/index.json');
      expect(names.some((n) => n.includes(other))).toBe(false);
      // The dev group (pytest) is never packed.
      expect(names.some((n) => /pytest|pluggy|iniconfig/i.test(n))).toBe(false);
      expect(a.wheels.map((w) => `${w.name} ${w.version}`).sort()).toEqual(['alpha 1.1.0', 'beta 2.0.0', 'gamma 1.0.0', 'pyyaml 6.0.9'].sort());
      // The SBOM lists the packed wheels with their exact versions and hashes.
      const sbom = JSON.parse(await fs.readFile(a.sbom.file, 'utf8')) as { components: { name: string; version?: string; hashes?: { content: string }[] }[] };
      for (const w of a.wheels) {
        const c = sbom.components.find((x) => x.name === w.name.toLowerCase() && x.version === w.version);
        expect(c?.hashes?.[0].content, w.name).toBe(w.sha256);
      }
      await expect(fs.stat(`${a.archive}.sig`)).resolves.toBeTruthy();
      const v = await cli(['verify', a.archive], dir);
      expect(v.exitCode, v.stdout + v.stderr).toBe(0);
    }
  });

  it('verify refuses a tampered, an unlisted, a wrong-platform and a wrong-Python wheel, and a listed wheel that is missing', async () => {
    const out = await tempDir({}, 'pxp-tamper-');
    const sha256s = new Map<string, string>();
    for (const f of await fs.readdir(otherPythons))
      sha256s.set(
        f,
        createHash('sha256')
          .update(await fs.readFile(path.join(otherPythons, f)))
          .digest('hex'),
      );
    const alpha = 'wheels/alpha-1.1.0-py3-none-any.whl';
    const cases: { name: string; spec: Record<string, unknown>; code: string }[] = [
      // Another file under the locked name (the integrity listing rewritten to match).
      { name: 'tampered', spec: { put: { [alpha]: path.join(wheelhouse, 'alpha-1.0.0-py3-none-any.whl') } }, code: 'WHEEL_HASH_MISMATCH' },
      // A wheel that is not in the lock at all.
      {
        name: 'unlisted',
        spec: { put: { 'wheels/delta-0.5.0-py3-none-any.whl': path.join(wheelhouse, 'delta-0.5.0-py3-none-any.whl') } },
        code: 'WHEEL_UNLISTED',
      },
      // The other platform's wheel, listed with its right hash: still the wrong platform.
      {
        name: 'platform',
        spec: {
          put: { [`wheels/gamma-1.0.0-cp311-cp311-${MAC}.whl`]: path.join(wheelhouse, `gamma-1.0.0-cp311-cp311-${MAC}.whl`) },
          list: {
            path: `wheels/gamma-1.0.0-cp311-cp311-${MAC}.whl`,
            name: 'gamma',
            version: '1.0.0',
            sha256: mac.wheels.find((w) => w.name === 'gamma')!.sha256,
          },
        },
        code: 'WHEEL_PLATFORM_MISMATCH',
      },
      { name: 'missing', spec: { drop: [alpha] }, code: 'WHEEL_MISSING' },
      // This platform's wheel for another Python or ABI than the archive's 3.11, listed with its right hash.
      ...['cp312-cp312', 'cp312-abi3', 'cp310-cp310', 'pp311-pypy311_pp73'].map((tag) => pythonCase(tag, 'WHEEL_PYTHON_MISMATCH')),
      // The stable ABI of an older Python runs on 3.11: accepted by verify, so the only finding is the missing locked gamma.
    ];
    function pythonCase(tag: string, code: string): { name: string; spec: Record<string, unknown>; code: string } {
      const file = `gamma-1.0.0-${tag}-${LINUX}.whl`;
      const own = `wheels/gamma-1.0.0-cp311-cp311-${LINUX}.whl`;
      return {
        name: `python-${tag}`,
        spec: {
          drop: [own],
          put: { [`wheels/${file}`]: path.join(otherPythons, file) },
          list: { path: `wheels/${file}`, name: 'gamma', version: '1.0.0', sha256: sha256s.get(file) },
        },
        code,
      };
    }
    for (const c of cases) {
      const zip = await repack(linux.archive, path.join(out, `${c.name}.zip`), c.spec);
      const v = await cli(['--json', 'verify', zip], dir);
      expect(v.exitCode, c.name).toBe(1);
      expect(v.stdout, c.name).toContain(c.code);
      expect(hasStackTrace(v.stderr)).toBe(false);
      // The development marketplace applies the same rule on upload (posted as is: the CLI's own check would stop it first).
      const s = await submit(srv.url, srv.developer, 'wheels_demo', await fs.readFile(zip));
      expect(s.status, c.name).toBe(422);
      expect(JSON.stringify(s.body), c.name).toContain(c.code);
    }
    // cp38-abi3 runs on 3.11: not a Python mismatch (the one finding is the locked cp311 wheel, dropped).
    const abi3 = await repack(linux.archive, path.join(out, 'abi3.zip'), pythonCase('cp38-abi3', '').spec);
    const v = await cli(['--json', 'verify', abi3], dir);
    const codes = (JSON.parse(v.stdout) as { findings: { code: string }[] }).findings.map((f) => f.code);
    expect(codes).toContain('WHEEL_MISSING');
    expect(codes).not.toContain('WHEEL_PYTHON_MISMATCH');
    expect(codes).not.toContain('WHEEL_PLATFORM_MISMATCH');
  });

  it('build refuses a lock whose wheel for a platform is built for another Python than the target (WHEEL_PYTHON_MISMATCH), nothing written', async () => {
    const own = `gamma-1.0.0-cp311-cp311-${LINUX}.whl`;
    const other = `gamma-1.0.0-cp312-cp312-${LINUX}.whl`;
    const lockFile = path.join(dir, 'pylock.toml');
    const text = await fs.readFile(lockFile, 'utf8');
    const oldSha = linux.wheels.find((w) => w.name === 'gamma')!.sha256;
    const newSha = createHash('sha256')
      .update(await fs.readFile(path.join(otherPythons, other)))
      .digest('hex');
    const edited = text
      .replaceAll(`${path.basename(wheelhouse)}/${own}`, `${path.basename(otherPythons)}/${other}`)
      .replaceAll(own, other)
      .replaceAll(oldSha, newSha);
    expect(edited).not.toBe(text);
    await fs.writeFile(lockFile, edited);
    await fs.rm(path.join(dir, 'dist'), { recursive: true, force: true });
    const r = await cli(['--json', 'build', '--wheels', '--split-platforms'], dir);
    const e = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
    expect([r.exitCode, e.code]).toEqual([1, 'WHEEL_PYTHON_MISMATCH']);
    expect(e.message).toContain(other);
    expect(e.message).toMatch(/Python 3\.11/);
    expect(hasStackTrace(r.stderr)).toBe(false);
    await expect(fs.stat(path.join(dir, 'dist'))).rejects.toThrow();
  });
});

describe('build --wheels', () => {
  it('pure-Python wheels only give one archive, fetched through the index into the cache', async () => {
    const dir = await plugin(['alpha']);
    const cache = await tempDir({}, 'pxp-cache-');
    // An index of its own, closed below: the lock names its files by URL.
    const own = await serveIndex(wheelhouse);
    const r0 = await cli(['deps', 'lock', '--python', python, '--index-url', own.url], dir);
    expect(r0.exitCode, r0.stderr).toBe(0);
    const r = await cli(['--json', 'build', '--wheels', '--split-platforms', '--index-url', own.url], dir, { XDG_CACHE_HOME: cache, PLEXICHAT_PYTHON: python });
    expect(own.hits.some((h) => h.startsWith('/files/alpha-'))).toBe(true);
    await own.close();
    expect(r.exitCode, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as BuildDoc;
    expect(path.basename(d.archive)).toBe('wheels_demo-1.0.0.zip');
    expect(d.variants).toBeUndefined();
    expect(d.platform).toBe('any');
    expect((await cli(['verify', d.archive], dir)).exitCode).toBe(0);
    // A second build takes them from the cache: the index is not needed.
    const again = await cli(['--json', 'build', '--wheels', '--index-url', 'http://127.0.0.1:9/simple'], dir, {
      XDG_CACHE_HOME: cache,
      PLEXICHAT_PYTHON: python,
    });
    expect(again.exitCode, again.stderr).toBe(0);
    // An empty cache and an index that does not answer: refused, nothing written.
    await fs.rm(path.join(dir, 'dist'), { recursive: true });
    const empty = await tempDir({}, 'pxp-cache-');
    const off = await cli(['--json', 'build', '--wheels', '--index-url', 'http://127.0.0.1:9/simple'], dir, {
      XDG_CACHE_HOME: empty,
      PLEXICHAT_PYTHON: python,
    });
    expect(off.exitCode).toBe(1);
    expect(JSON.parse(off.stdout).error.code).toBe('WHEEL_UNAVAILABLE');
    await expect(fs.stat(path.join(dir, 'dist'))).rejects.toThrow();
  });

  it('refuses with no lock, a stale lock, a wheel that differs from the lock, and --split-platforms alone', async () => {
    const dir = await plugin(['alpha']);
    const none = await cli(['--json', 'build', '--wheels'], dir);
    expect([none.exitCode, JSON.parse(none.stdout).error.code]).toEqual([1, 'LOCK_NOT_FOUND']);
    const alone = await cli(['build', '--split-platforms'], dir);
    expect(alone.exitCode).toBe(2);
    expect(alone.stderr).toMatch(/--split-platforms needs --wheels/);
    // A wheelhouse in the project, named by path in the lock.
    const house = path.join(dir, 'wheelhouse');
    await fs.mkdir(house);
    for (const f of ['alpha-1.1.0-py3-none-any.whl', 'beta-2.0.0-py3-none-any.whl', 'PyYAML-6.0.9-py3-none-any.whl']) {
      await fs.copyFile(path.join(wheelhouse, f), path.join(house, f));
    }
    await execa(python, [WHEELS_PY, 'repack', house, 'pytest']);
    expect((await cli(['deps', 'lock', '--python', python, '--no-index', '--find-links', 'wheelhouse'], dir)).exitCode).toBe(0);
    // Another beta 2.0.0 under the same name: not the locked file.
    await fs.rm(path.join(house, 'beta-2.0.0-py3-none-any.whl'));
    await makeWheel(python, house, 'beta', '2.0.0', { requires: ['delta'] });
    const bad = await cli(['--json', 'build', '--wheels'], dir);
    expect([bad.exitCode, JSON.parse(bad.stdout).error.code]).toEqual([1, 'HASH_MISMATCH']);
    expect(JSON.parse(bad.stdout).error.message).toMatch(/beta-2\.0\.0-py3-none-any\.whl/);
    await expect(fs.stat(path.join(dir, 'dist'))).rejects.toThrow();
    // A narrowed range: the lock no longer satisfies the manifest.
    const manifest = path.join(dir, 'config', 'plugin.yaml');
    await fs.writeFile(manifest, (await fs.readFile(manifest, 'utf8')).replace('- "alpha"', '- "alpha<1.1"'));
    const stale = await cli(['--json', 'build', '--wheels'], dir);
    expect([stale.exitCode, JSON.parse(stale.stdout).error.code]).toEqual([1, 'LOCK_STALE']);
  });
});

describe('the dependency diff (validate --against)', () => {
  it('lists packages added, removed and changed (range, locked version, or both) since an archive', async () => {
    const house = await tempDir({}, 'pxp-house-');
    for (const f of await fs.readdir(wheelhouse)) if (!f.startsWith('gamma')) await fs.copyFile(path.join(wheelhouse, f), path.join(house, f));
    await makeWheel(python, house, 'zeta', '1.0.0');
    await makeWheel(python, house, 'epsilon', '0.1.0');
    const dir = await plugin(['alpha>=1.0', 'delta', 'zeta']);
    await writeTree(dir, { docs: { 'README.md': '# Wheels demo\n\nPacks its wheels.\n' }, 'CHANGELOG.md': '# Changelog\n\n## [1.0.0]\n\n- first\n' });
    const relock = async () => expect((await cli(['deps', 'lock', '--python', python, '--no-index', '--find-links', house], dir)).exitCode).toBe(0);
    await relock();
    const built = await cli(['--json', 'build', '--wheels', '--out', 'base'], dir);
    expect(built.exitCode, built.stderr).toBe(0);
    const base = (JSON.parse(built.stdout) as BuildDoc).archive;
    const plain = await cli(['--json', 'build', '--out', 'plain'], dir);
    const plainArchive = (JSON.parse(plain.stdout) as BuildDoc).archive;
    // 1.0.0 is published on the development marketplace.
    const dev = srv.env(srv.developer);
    const first = await cli(['--json', 'marketplace', 'submit', '--archive', base], dir, dev);
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    const firstId = (JSON.parse(first.stdout) as { submission: { id: string } }).submission.id;
    expect((await cli(['marketplace', 'review', firstId, '--approve'], dir, srv.env(srv.reviewer))).exitCode).toBe(0);
    expect((await cli(['marketplace', 'publish', firstId], dir, dev)).exitCode).toBe(0);
    // A narrowed range (alpha: and its locked version), a widened one (delta: range only), one added, one removed,
    // and a package pulled in by another whose locked version moved (beta 2.0.0 -> 2.1.0).
    const manifest = path.join(dir, 'config', 'plugin.yaml');
    const text = await fs.readFile(manifest, 'utf8');
    await fs.writeFile(
      manifest,
      text.replace('- "alpha>=1.0"', '- "alpha>=1.0,<1.1"').replace('- "delta"', '- "delta>=0.1"').replace('- "zeta"', '- "epsilon"'),
    );
    await makeWheel(python, house, 'beta', '2.1.0');
    await relock();
    const r = await cli(['--json', 'validate', '--against', base], dir);
    expect(r.exitCode, r.stderr).toBe(0);
    const deps = (JSON.parse(r.stdout) as { against: { dependencies: Record<string, { name: string; from?: object; to?: object }[]> } }).against.dependencies;
    expect(deps.added).toEqual([{ name: 'epsilon', to: { range: 'epsilon', locked: '0.1.0' } }]);
    expect(deps.removed).toEqual([{ name: 'zeta', from: { range: 'zeta', locked: '1.0.0' } }]);
    expect(deps.changed).toEqual([
      { name: 'alpha', from: { range: 'alpha>=1.0', locked: '1.1.0' }, to: { range: 'alpha>=1.0,<1.1', locked: '1.0.0' } },
      { name: 'beta', from: { locked: '2.0.0' }, to: { locked: '2.1.0' } },
      { name: 'delta', from: { range: 'delta', locked: '0.5.0' }, to: { range: 'delta>=0.1', locked: '0.5.0' } },
    ]);
    const human = await cli(['validate', '--against', base], dir);
    expect(human.stdout).toMatch(/\+ package epsilon \(epsilon, locked 0\.1\.0\)/);
    expect(human.stdout).toMatch(/~ package alpha: alpha>=1\.0, locked 1\.1\.0 -> alpha>=1\.0,<1\.1, locked 1\.0\.0/);
    expect(human.stdout).toMatch(/~ package beta: locked 2\.0\.0 -> locked 2\.1\.0/);
    expect(human.stdout).toMatch(/- package zeta \(was zeta, locked 1\.0\.0\)/);
    // An archive without wheels says nothing of locked versions: only the ranges are compared.
    const p = await cli(['--json', 'validate', '--against', plainArchive], dir);
    const pd = (JSON.parse(p.stdout) as { against: { dependencies: { changed: { name: string }[]; added: { name: string }[] } } }).against.dependencies;
    expect(pd.changed.map((c) => c.name)).toEqual(['alpha', 'delta']);
    expect(pd.added.map((c) => c.name)).toEqual(['epsilon']);

    // 1.1.0 with those changes: submit lists them as the marketplace computed them, and the reviewer sees them in status.
    await fs.writeFile(manifest, (await fs.readFile(manifest, 'utf8')).replace('version: 1.0.0', 'version: 1.1.0'));
    await fs.writeFile(path.join(dir, 'CHANGELOG.md'), '# Changelog\n\n## [1.1.0]\n\n- new packages\n\n## [1.0.0]\n\n- first\n');
    const next = await cli(['--json', 'build', '--wheels'], dir);
    expect(next.exitCode, next.stderr).toBe(0);
    const sub = await cli(['--json', 'marketplace', 'submit'], dir, dev);
    expect(sub.exitCode, sub.stdout + sub.stderr).toBe(0);
    const sd = JSON.parse(sub.stdout) as { submission: { id: string }; dependencyDiff: typeof deps };
    expect(sd.dependencyDiff).toEqual({ ...deps, unchanged: false });
    const review = await cli(['marketplace', 'status', sd.submission.id], dir, srv.env(srv.reviewer));
    expect(review.exitCode, review.stderr).toBe(0);
    expect(review.stdout).toMatch(/\+ package epsilon \(epsilon, locked 0\.1\.0\)/);
    expect(review.stdout).toMatch(/- package zeta \(was zeta, locked 1\.0\.0\)/);
    expect(review.stdout).toMatch(/~ package delta: delta, locked 0\.5\.0 -> delta>=0\.1, locked 0\.5\.0/);
    const js = await cli(['--json', 'marketplace', 'status', sd.submission.id], dir, srv.env(srv.reviewer));
    expect(JSON.stringify(JSON.parse(js.stdout))).toContain('"dependencies":{"added":[{"name":"epsilon"');
  });
});
