/**
 * Stale archives do not ship (issue 20 #13): `marketplace prepare` and
 * `submit` compare the archive's integrity listing with the files build
 * would pack now. A file added, removed or changed since (the manifest
 * included) is STALE_ARCHIVE, exit 1, nothing written and nothing sent;
 * `--rebuild` builds first. Files build leaves out, and files touched but
 * identical, do not make an archive stale.
 */
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OVERLAP_MIN_BYTES } from '../../src/marketplace/prepare.js';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { hasStackTrace } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';
import { isolatedEnv, uniqueName } from './marketplace-helpers.js';
import { build, manifestYaml, writeSources } from './marketplace-plugin.js';

let srv!: DevServer;
useDevServer((s) => (srv = s), { maxUploadBytes: 64 * 1024 * 1024 });

async function built(payload?: Buffer): Promise<{ dir: string; name: string; zip: string; listing: string }> {
  const name = uniqueName('stale');
  const dir = await tempDir({}, 'pxp-stale-');
  await writeSources(dir, { name, payload });
  await build(dir);
  return { dir, name, zip: path.join(dir, 'dist', `${name}-1.0.0.zip`), listing: path.join(dir, 'dist', `${name}-1.0.0.listing.json`) };
}

const prepare = (dir: string, ...args: string[]) => runMain(['marketplace', 'prepare', ...args], { cwd: dir });

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

/** Refused as stale: exit 1, one error line naming what differs, the hint, no listing written. */
async function expectStale(dir: string, listing: string, what: RegExp, ...args: string[]) {
  const r = await prepare(dir, ...args);
  expect(r.exitCode, r.stderr).toBe(1);
  expect(r.stderr).toMatch(/^error: .*\.zip is stale: /m);
  expect(r.stderr).toMatch(what);
  expect(r.stderr).toMatch(/hint: run `plexichat-plugin build` again, or pass --rebuild/);
  expect(hasStackTrace(r.stderr)).toBe(false);
  expect(await exists(listing)).toBe(false);
  return r;
}

describe('prepare refuses an archive older than its sources', () => {
  it('a changed CHANGELOG.md and an added config/monitoring.yaml (the report of the issue)', async () => {
    const { dir, listing } = await built();
    await fs.appendFile(path.join(dir, 'CHANGELOG.md'), '- Counts threads too.\n');
    await fs.writeFile(path.join(dir, 'config', 'monitoring.yaml'), 'monitoring:\n  metrics: [plugin_errors_total]\n');
    await expectStale(dir, listing, /CHANGELOG\.md changed, config\/monitoring\.yaml added since it was built/);
  });

  it('a removed file', async () => {
    const { dir, listing } = await built();
    await fs.rm(path.join(dir, 'src', '__init__.py'));
    await expectStale(dir, listing, /src\/__init__\.py removed/);
  });

  it('a changed code file of the same size (found by its hash)', async () => {
    const { dir, listing } = await built();
    const file = path.join(dir, 'src', 'plugin.py');
    const text = await fs.readFile(file, 'utf8');
    await fs.writeFile(file, text.replace('return None', 'return Nope'));
    expect((await fs.stat(file)).size).toBe(Buffer.byteLength(text));
    await expectStale(dir, listing, /src\/plugin\.py changed/);
  });

  it('a changed manifest: its description (stale), or its version (the archive of the new version is missing; the old one, given, is ARCHIVE_MISMATCH)', async () => {
    const { dir, name, listing } = await built();
    const manifest = path.join(dir, 'config', 'plugin.yaml');
    await fs.writeFile(manifest, manifestYaml(name, '1.0.0', 'Counts messages per channel and thread'));
    await expectStale(dir, listing, /config\/plugin\.yaml changed/);
    await fs.writeFile(manifest, manifestYaml(name, '1.0.1'));
    await fs.appendFile(path.join(dir, 'CHANGELOG.md'), '\n## [1.0.1] - 2026-11-27\n\n### Fixed\n- A typo.\n');
    const missing = await prepare(dir);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/no archive yet: dist\/.*-1\.0\.1\.zip does not exist/);
    // Given, the old version's archive is another version's: ARCHIVE_MISMATCH says so (more than "stale").
    const given = await prepare(dir, '--archive', `dist/${name}-1.0.0.zip`);
    expect(given.exitCode).toBe(1);
    expect(given.stderr).toMatch(/holds .* 1\.0\.0, but this project is .* 1\.0\.1/);
  });

  it('a same-size edit is found also when the archive was copied after it (its timestamps are newer than the edit)', async () => {
    const { dir, name } = await built();
    const file = path.join(dir, 'docs', 'README.md');
    const text = await fs.readFile(file, 'utf8');
    await fs.writeFile(file, text.replace('Counts', 'Tallies'.slice(0, 6)));
    expect((await fs.stat(file)).size).toBe(Buffer.byteLength(text));
    const elsewhere = await tempDir({}, 'pxp-stale-copy-');
    await fs.copyFile(path.join(dir, 'dist', `${name}-1.0.0.zip`), path.join(elsewhere, `${name}-1.0.0.zip`));
    await expectStale(
      dir,
      path.join(elsewhere, `${name}-1.0.0.listing.json`),
      /docs\/README\.md changed/,
      '--archive',
      path.join(elsewhere, `${name}-1.0.0.zip`),
    );
  });

  it('--json: the STALE_ARCHIVE error with what was added, removed and changed', async () => {
    const { dir } = await built();
    await fs.writeFile(path.join(dir, 'docs', 'USAGE.md'), '# Usage\n');
    await fs.rm(path.join(dir, 'src', '__init__.py'));
    const r = await prepare(dir, '--json');
    expect(r.exitCode).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.error).toMatchObject({ code: 'STALE_ARCHIVE', exitCode: 1, added: ['docs/USAGE.md'], removed: ['src/__init__.py'], changed: [] });
  });

  it('not stale: files touched or rewritten with the same bytes, and files build leaves out', async () => {
    const { dir, listing } = await built();
    const later = new Date(Date.now() + 5_000);
    await fs.utimes(path.join(dir, 'src', 'plugin.py'), later, later);
    const changelog = path.join(dir, 'CHANGELOG.md');
    await fs.writeFile(changelog, await fs.readFile(changelog));
    await fs.writeFile(path.join(dir, 'notes.txt'), 'to do: threads\n');
    await fs.writeFile(path.join(dir, 'v.json'), '{"ok": true}\n');
    const r = await prepare(dir);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await exists(listing)).toBe(true);
  });

  it('an archive built with --include-tests is compared with the tests it holds', async () => {
    const { dir, listing } = await built();
    await fs.mkdir(path.join(dir, 'tests'));
    await fs.writeFile(path.join(dir, 'tests', 'test_a.py'), 'def test_a():\n    assert True\n');
    expect((await runMain(['build', '--include-tests'], { cwd: dir })).exitCode).toBe(0);
    expect((await prepare(dir)).exitCode).toBe(0);
    await fs.appendFile(path.join(dir, 'tests', 'test_a.py'), '# more\n');
    await fs.rm(listing);
    await expectStale(dir, listing, /tests\/test_a\.py changed/);
  });

  it('--archive from another folder is held to the same rule: it must be what these sources pack', async () => {
    const { dir, name } = await built();
    const elsewhere = await tempDir({}, 'pxp-stale-out-');
    expect((await runMain(['build', '--out', elsewhere], { cwd: dir })).exitCode).toBe(0);
    const zip = path.join(elsewhere, `${name}-1.0.0.zip`);
    const ok = await prepare(dir, '--archive', zip);
    expect(ok.exitCode, ok.stderr).toBe(0);
    await fs.appendFile(path.join(dir, 'docs', 'README.md'), 'More.\n');
    await fs.rm(path.join(elsewhere, `${name}-1.0.0.listing.json`));
    await expectStale(dir, path.join(elsewhere, `${name}-1.0.0.listing.json`), /docs\/README\.md changed/, '--archive', zip);
  });
});

describe('--rebuild', () => {
  it('prepare --rebuild builds first: the new archive holds the edited files and the listing is written', async () => {
    const { dir, zip, listing } = await built();
    await fs.appendFile(path.join(dir, 'CHANGELOG.md'), '- Counts threads too.\n');
    await fs.writeFile(path.join(dir, 'notes.txt'), 'scratch\n');
    const r = await prepare(dir, '--rebuild');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/rebuilt dist\/.*-1\.0\.0\.zip \(5 files\)/);
    expect(r.stderr).toMatch(/left out 1 file not part of a plugin: notes\.txt/);
    expect(await exists(listing)).toBe(true);
    const v = await runMain(['verify', zip, '--json'], { cwd: dir });
    expect(v.exitCode).toBe(0);
    const inside = await execa('python3', ['-c', 'import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).read("CHANGELOG.md").decode())', zip]);
    expect(inside.stdout).toContain('- Counts threads too.');
    expect((await prepare(dir)).exitCode).toBe(0);
  });

  it('with a signing key configured, --rebuild signs the new archive as build does (no stale .sig beside it)', async () => {
    const { dir, zip } = await built();
    const env = await isolatedEnv();
    expect((await runMain(['keys', 'generate'], { cwd: dir, env })).exitCode).toBe(0);
    expect((await runMain(['build'], { cwd: dir, env })).exitCode).toBe(0);
    await fs.appendFile(path.join(dir, 'CHANGELOG.md'), '- More.\n');
    const r = await runMain(['marketplace', 'prepare', '--rebuild'], { cwd: dir, env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/rebuilt dist\/.*\.zip \(5 files, signed\)/);
    const pub = path.join(String(env.XDG_CONFIG_HOME), 'plexichat-plugin', 'signing-key.pem.pub');
    const v = await runMain(['verify', zip, '--key', pub], { cwd: dir, env });
    expect(v.exitCode, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/verified/);
  });

  it('--rebuild with --archive is a usage error (exit 2), nothing built', async () => {
    const { dir, name, zip } = await built();
    const before = await fs.stat(zip);
    const r = await prepare(dir, '--rebuild', '--archive', `dist/${name}-1.0.0.zip`);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--rebuild and --archive contradict each other/);
    expect((await fs.stat(zip)).mtimeMs).toBe(before.mtimeMs);
  });

  it('--rebuild that fails validation stops there (exit 1), nothing written', async () => {
    const { dir, listing } = await built();
    await fs.writeFile(path.join(dir, 'config', 'plugin.yaml'), 'plugin:\n  name: x\n');
    const r = await prepare(dir, '--rebuild');
    expect(r.exitCode).toBe(1);
    expect(await exists(listing)).toBe(false);
  });
});

describe('submit refuses a stale archive before anything is sent', () => {
  const submit = async (dir: string, ...args: string[]) =>
    runMain(['marketplace', 'submit', ...args], { cwd: dir, env: await isolatedEnv(srv.env(srv.developer)) });

  it('a small archive: STALE_ARCHIVE, no request to the submit route, nothing stored', async () => {
    const { dir, name, listing } = await built();
    await fs.appendFile(path.join(dir, 'CHANGELOG.md'), '- More.\n');
    const r = await submit(dir);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/is stale: CHANGELOG\.md changed since it was built; nothing was written or sent/);
    expect(srv.requests.filter((q) => q.route === 'submit' && q.url.includes(name))).toEqual([]);
    expect(srv.countSubmissions(name)).toBe(0);
    expect(await exists(listing)).toBe(false);
  });

  it("a large archive with build's fresh .sha256 (the overlap path): refused the same way before the upload starts", async () => {
    const { dir, name, listing } = await built(randomBytes(OVERLAP_MIN_BYTES + 1024 * 1024));
    await fs.writeFile(path.join(dir, 'config', 'monitoring.yaml'), 'monitoring:\n  metrics: [plugin_errors_total]\n');
    const r = await submit(dir);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/is stale: config\/monitoring\.yaml added since it was built/);
    expect(srv.requests.filter((q) => q.route === 'submit' && q.url.includes(name))).toEqual([]);
    expect(srv.countSubmissions(name)).toBe(0);
    expect(await exists(listing)).toBe(false);
  });

  it('submit --rebuild builds, then uploads the fresh archive once', async () => {
    const { dir, name } = await built();
    await fs.appendFile(path.join(dir, 'CHANGELOG.md'), '- More.\n');
    const r = await submit(dir, '--rebuild');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Submitted ${name} 1.0.0 for review`);
    expect(srv.countSubmissions(name)).toBe(1);
  });
});
