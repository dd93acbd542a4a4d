/**
 * Platform variants of one version on the development marketplace (issue 23,
 * item 3): the two archives `build --wheels --split-platforms` writes are
 * submitted, stored side by side, reviewed and published as one version,
 * listed by `marketplace info` and fetched by `marketplace download`
 * (this machine's by default, or --platform), byte for byte, with the
 * counter-signature and the publisher signature checked. Real pip, offline;
 * the server on 127.0.0.1 (ephemeral port).
 */
import { execa } from 'execa';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pythonWith, requiresEach } from '../helpers/requires.js';
import { hasStackTrace, runCli } from '../helpers/run-cli.js';
import { tempDir, writeTree } from '../helpers/temp-project.js';
import { makeWheel, WHEELS_PY } from '../helpers/wheel-files.js';
import { startDevServer, type DevServer } from '../helpers/dev-server.js';
import { api, listingFor, submit } from '../helpers/server-zips.js';
import { dirSink } from '../../src/registry/sink.js';

requiresEach('pip');
vi.setConfig({ testTimeout: 600_000 });

const python = pythonWith('pip', 'pytest', 'yaml') ?? 'python3';
const LINUX = 'manylinux_2_17_x86_64';
const MAC = 'macosx_11_0_arm64';
const NAME = 'variants_demo';
let srv: DevServer;
let live: string;
let home: string;
let dir: string;
/** The built archives, kept aside: platform -> file (with its .sig beside it). */
const built = new Map<string, string>();
let otherLinux: string;
let otherManifestMac: string;

const MANIFEST = (description: string) =>
  [
    'plugin:',
    `  name: ${NAME}`,
    '  version: 1.0.0',
    `  description: ${description}`,
    '  author: Test',
    'metadata:',
    '  category: utility',
    '  license: MIT',
    'dependencies:',
    '  core: ">=2.0.0"',
    '  python: ">=3.8"',
    '  packages:',
    '    - "alpha"',
    '    - "gamma"',
    'permissions:',
    '  required: [message_read]',
    'resources:',
    '  limits: { cpu: "200m", memory: "256Mi" }',
    '  requests: { cpu: "50m", memory: "64Mi" }',
    '',
  ].join('\n');

const cli = (args: string[], opts: { cwd?: string; token?: string } = {}) =>
  runCli(args, {
    cwd: opts.cwd ?? dir,
    timeout: 300_000,
    env: { XDG_CONFIG_HOME: home, PLEXICHAT_SIGNING_KEY: undefined, PLEXICHAT_MARKETPLACE_URL: srv.url, PLEXICHAT_TOKEN: opts.token ?? srv.developer },
  });

/** build --wheels --split-platforms --sign; each archive (and its .sig) copied aside under `label`. */
async function buildAll(key: string, label: string): Promise<Map<string, string>> {
  await fs.rm(path.join(dir, 'dist'), { recursive: true, force: true });
  const r = await cli(['--json', 'build', '--wheels', '--split-platforms', '--sign', '--key', key]);
  expect(r.exitCode, r.stderr).toBe(0);
  const d = JSON.parse(r.stdout) as { archive: string; platform: string; variants?: { archive: string; platform: string }[] };
  const out = new Map<string, string>();
  const keep = path.join(home, label);
  await fs.mkdir(keep, { recursive: true });
  for (const a of [d, ...(d.variants ?? [])]) {
    const file = path.join(keep, path.basename(a.archive));
    await fs.copyFile(a.archive, file);
    await fs.copyFile(`${a.archive}.sig`, `${file}.sig`);
    out.set(a.platform, file);
  }
  return out;
}

beforeAll(async () => {
  // The static registry beside it: written on every publish (serve --index-to).
  live = await tempDir({}, 'pxp-variants-registry-');
  srv = await startDevServer({ registry: dirSink(live) });
  home = await tempDir({}, 'pxp-variants-home-');
  const wheelhouse = await tempDir({}, 'pxp-wheels-');
  await execa(python, [WHEELS_PY, 'repack', wheelhouse, 'pytest']);
  await makeWheel(python, wheelhouse, 'alpha', '1.0.0', { requires: ['beta>=2'] });
  await makeWheel(python, wheelhouse, 'beta', '2.0.0');
  await makeWheel(python, wheelhouse, 'PyYAML', '6.0.9');
  for (const tag of [LINUX, MAC]) await makeWheel(python, wheelhouse, 'gamma', '1.0.0', { tag: `cp311-cp311-${tag}` });
  dir = await tempDir({}, 'pxp-variants-');
  await writeTree(dir, {
    config: { 'plugin.yaml': MANIFEST('A plugin built per platform') },
    src: { '__init__.py': '', 'main.py': 'class DemoPlugin:\n    pass\n' },
    docs: { 'README.md': '# Variants demo\n\nOne archive per platform.\n' },
    'CHANGELOG.md': '# Changelog\n\n## [1.0.0]\n\n- first\n',
  });
  const lock = await cli([
    'deps',
    'lock',
    '--python',
    python,
    '--no-index',
    '--find-links',
    wheelhouse,
    '--python-version',
    '3.11',
    '--platform',
    LINUX,
    '--platform',
    MAC,
  ]);
  expect(lock.exitCode, lock.stderr).toBe(0);
  const key = path.join(home, 'publisher.pem');
  expect((await cli(['keys', 'generate', '--out', key])).exitCode).toBe(0);
  expect((await cli(['marketplace', 'keys', 'add', `${key}.pub`])).exitCode).toBe(0);
  for (const [p, f] of await buildAll(key, 'a')) built.set(p, f);
  // The same version with other code: another archive for the same platform.
  await fs.writeFile(path.join(dir, 'src', 'main.py'), 'class DemoPlugin:\n    """Changed."""\n');
  otherLinux = (await buildAll(key, 'b')).get(LINUX)!;
  // The same version with another manifest: a variant that does not agree with the others.
  await fs.writeFile(path.join(dir, 'config', 'plugin.yaml'), MANIFEST('Another description'));
  otherManifestMac = (await buildAll(key, 'c')).get(MAC)!;
  // The project as the first build was made (submit reads its listing from it).
  await fs.writeFile(path.join(dir, 'config', 'plugin.yaml'), MANIFEST('A plugin built per platform'));
  await fs.writeFile(path.join(dir, 'src', 'main.py'), 'class DemoPlugin:\n    pass\n');
}, 600_000);

afterAll(async () => {
  await srv?.stop();
});

describe('platform variants of one version on the development marketplace', () => {
  let linuxId: string;

  it('without --archive, prepare and submit name the platform archives a split build wrote (one per platform, each with --archive)', async () => {
    for (const cmd of ['prepare', 'submit']) {
      const r = await cli(['marketplace', cmd]);
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(`dist/${NAME}-1\\.0\\.0\\.zip does not exist; dist holds 2 platform archives of this version: dist/${NAME}-1\\.0\\.0-`),
      );
      expect(r.stderr).toMatch(/they form one version: submit each with --archive, e\.g\. --archive dist\//);
    }
  });

  it('stores both variants; refuses the same platform with other bytes and a variant whose manifest differs', async () => {
    const first = await cli(['--json', 'marketplace', 'submit', '--archive', built.get(LINUX)!]);
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    linuxId = (JSON.parse(first.stdout) as { submission: { id: string; platform?: string } }).submission.id;
    expect((JSON.parse(first.stdout) as { submission: { platform?: string } }).submission.platform).toBe(LINUX);
    // Same platform, other bytes: refused as for a version without variants.
    const same = await submit(srv.url, srv.developer, NAME, await fs.readFile(otherLinux));
    expect([same.status, same.body.error.code]).toEqual([409, 'VERSION_EXISTS']);
    expect(same.body.error.message).toMatch(new RegExp(`the ${LINUX} variant of ${NAME} 1\\.0\\.0 was already submitted with a different archive`));
    // Another platform whose config/plugin.yaml differs: refused.
    const disagree = await submit(srv.url, srv.developer, NAME, await fs.readFile(otherManifestMac));
    expect([disagree.status, disagree.body.error.code]).toEqual([409, 'VARIANT_MISMATCH']);
    expect(disagree.body.error.message).toMatch(/config\/plugin\.yaml differs from the other variants/);
    // The other platform of the same build: accepted beside the first.
    const second = await cli(['--json', 'marketplace', 'submit', '--archive', built.get(MAC)!]);
    expect(second.exitCode, second.stdout + second.stderr).toBe(0);
    // The same bytes again: the existing submission, nothing new.
    const again = await submit(srv.url, srv.developer, NAME, await fs.readFile(built.get(MAC)!));
    expect([again.status, again.body.existing, again.body.platform]).toEqual([200, true, MAC]);
    const rows = await api(srv.url, 'GET', `/plugins/${NAME}/submissions`, { token: srv.developer });
    const subs = rows.body.submissions as { platform?: string; state: string; sha256: string }[];
    expect(subs.map((s) => s.platform).sort()).toEqual([LINUX, MAC].sort());
    expect(subs.every((s) => s.state === 'pending')).toBe(true);
  });

  it('review and publish act on the version: every variant moves', async () => {
    const review = await cli(['marketplace', 'review', linuxId, '--approve'], { token: srv.reviewer });
    expect(review.exitCode, review.stdout + review.stderr).toBe(0);
    let subs = (await api(srv.url, 'GET', `/plugins/${NAME}/submissions`, { token: srv.developer })).body.submissions as { state: string }[];
    expect(subs.map((s) => s.state)).toEqual(['approved', 'approved']);
    const publish = await cli(['marketplace', 'publish', linuxId]);
    expect(publish.exitCode, publish.stdout + publish.stderr).toBe(0);
    subs = (await api(srv.url, 'GET', `/plugins/${NAME}/submissions`, { token: srv.developer })).body.submissions as { state: string }[];
    expect(subs.map((s) => s.state)).toEqual(['published', 'published']);
    // Published: the platform's archive is the published one.
    const bytes = await fs.readFile(otherManifestMac);
    const late = await submit(srv.url, srv.developer, NAME, bytes, {
      parts: [
        { name: 'listing', data: JSON.stringify(listingFor(bytes, NAME, '1.0.0')) },
        { name: 'signature', data: await fs.readFile(`${otherManifestMac}.sig`, 'utf8') },
        { name: 'archive', data: bytes, filename: `${NAME}.zip`, contentType: 'application/zip' },
      ],
    });
    expect([late.status, late.body.error?.code], JSON.stringify(late.body)).toEqual([409, 'VERSION_EXISTS']);
    expect(late.body.error.state).toBe('published');
  });

  it('info lists the variants; download picks each by --platform (the built bytes, signatures checked) and this machine by default', async () => {
    const info = await cli(['--json', 'marketplace', 'info', NAME]);
    expect(info.exitCode, info.stderr).toBe(0);
    const v = (JSON.parse(info.stdout) as { versions: { version: string; variants?: { platform: string; sha256: string }[] }[] }).versions;
    expect(v).toHaveLength(1);
    expect(v[0].variants!.map((x) => x.platform).sort()).toEqual([LINUX, MAC].sort());
    const human = await cli(['marketplace', 'info', NAME]);
    expect(human.stdout).toContain(`platform ${LINUX}`);
    expect(human.stdout).toContain(`platform ${MAC}`);
    for (const platform of [LINUX, MAC]) {
      const out = await tempDir({}, 'pxp-dl-');
      const r = await cli(['--json', 'marketplace', 'download', `${NAME}@1.0.0`, '--platform', platform, '--out', out]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      const d = JSON.parse(r.stdout) as { file: string; platform: string; publisher: { key_id: string } | null; countersignature: { key_id: string } };
      expect(d.platform).toBe(platform);
      expect(path.basename(d.file)).toBe(`${NAME}-1.0.0-${platform}.zip`);
      expect(d.publisher).not.toBeNull();
      expect((await fs.readFile(d.file)).equals(await fs.readFile(built.get(platform)!))).toBe(true);
      await expect(fs.stat(`${d.file}.sig`)).resolves.toBeTruthy();
    }
    // No --platform: this machine's variant, when it has one.
    const host =
      process.platform === 'linux' && os.machine() === 'x86_64' ? LINUX : process.platform === 'darwin' && os.machine() === 'arm64' ? MAC : undefined;
    const out = await tempDir({}, 'pxp-dl-');
    const auto = await cli(['--json', 'marketplace', 'download', NAME, '--out', out]);
    if (host) {
      expect(auto.exitCode, auto.stderr).toBe(0);
      expect((JSON.parse(auto.stdout) as { platform: string }).platform).toBe(host);
    } else {
      expect((JSON.parse(auto.stdout) as { error: { code: string } }).error.code).toBe('PLATFORM_NOT_FOUND');
    }
  });

  it('a platform the version has no archive for: PLATFORM_NOT_FOUND naming the platforms there are, nothing written', async () => {
    const out = await tempDir({}, 'pxp-dl-');
    const r = await cli(['--json', 'marketplace', 'download', `${NAME}@1.0.0`, '--platform', 'win_amd64', '--out', out]);
    expect(r.exitCode).toBe(1);
    const e = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
    expect(e.code).toBe('PLATFORM_NOT_FOUND');
    expect(e.message).toContain(LINUX);
    expect(e.message).toContain(MAC);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(await fs.readdir(out)).toEqual([]);
    // The API says the same to a client that asks without a platform.
    const raw = await api(srv.url, 'GET', `/plugins/${NAME}/versions/1.0.0/download`);
    expect([raw.status, raw.body.error.code]).toEqual([400, 'PLATFORM_REQUIRED']);
    const none = await api(srv.url, 'GET', `/plugins/${NAME}/versions/1.0.0/download?platform=win_amd64`);
    expect([none.status, none.body.error.code]).toEqual([404, 'PLATFORM_NOT_FOUND']);
  });

  it('the static registry carries both variants: one index entry per platform, info and download --platform read it, verified the same way', async () => {
    const index = JSON.parse(await fs.readFile(path.join(live, 'plugins', NAME, 'index.json'), 'utf8')) as {
      versions: { version: string; platform?: string; sha256: string; archive: string }[];
    };
    expect(index.versions.map((v) => [v.version, v.platform]).sort()).toEqual(
      [
        ['1.0.0', LINUX],
        ['1.0.0', MAC],
      ].sort(),
    );
    const registry = `file://${live}`;
    const info = await cli(['--json', 'marketplace', 'info', NAME, '--registry', registry]);
    expect(info.exitCode, info.stderr).toBe(0);
    const v = (JSON.parse(info.stdout) as { versions: { variants?: { platform: string }[] }[] }).versions;
    expect(v).toHaveLength(1);
    expect(v[0].variants!.map((x) => x.platform).sort()).toEqual([LINUX, MAC].sort());
    for (const platform of [LINUX, MAC]) {
      const out = await tempDir({}, 'pxp-dl-');
      const r = await cli(['--json', 'marketplace', 'download', `${NAME}@1.0.0`, '--platform', platform, '--out', out, '--registry', registry]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      const d = JSON.parse(r.stdout) as { file: string; platform: string };
      expect([d.platform, path.basename(d.file)]).toEqual([platform, `${NAME}-1.0.0-${platform}.zip`]);
      expect((await fs.readFile(d.file)).equals(await fs.readFile(built.get(platform)!))).toBe(true);
    }
    const none = await cli(['--json', 'marketplace', 'download', `${NAME}@1.0.0`, '--platform', 'win_amd64', '--registry', registry]);
    expect((JSON.parse(none.stdout) as { error: { code: string } }).error.code).toBe('PLATFORM_NOT_FOUND');
  });

  it('marketplace mirror copies every variant of a version, each verified', async () => {
    const to = await tempDir({}, 'pxp-mirror-');
    const r = await cli(['--json', 'marketplace', 'mirror', '--from', srv.url, '--to', to, NAME]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const index = JSON.parse(await fs.readFile(path.join(to, 'plugins', NAME, 'index.json'), 'utf8')) as { versions: { platform?: string; sha256: string }[] };
    expect(index.versions.map((v) => v.platform).sort()).toEqual([LINUX, MAC].sort());
    const out = await tempDir({}, 'pxp-dl-');
    const d = await cli(['--json', 'marketplace', 'download', `${NAME}@1.0.0`, '--platform', MAC, '--out', out, '--registry', `file://${to}`]);
    expect(d.exitCode, d.stdout + d.stderr).toBe(0);
    expect((await fs.readFile((JSON.parse(d.stdout) as { file: string }).file)).equals(await fs.readFile(built.get(MAC)!))).toBe(true);
  });
});
