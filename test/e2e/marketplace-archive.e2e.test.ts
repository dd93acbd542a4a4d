/**
 * `prepare --archive <path>` and `submit --archive <path>` (an archive made
 * with `build --out`), and the local `verify` that prepare and submit run
 * on whatever archive they use: a bad path is a usage error (exit 2), an
 * archive the marketplace would refuse is exit 1 with verify's own
 * diagnostics, and neither writes a listing nor sends a byte. Against the
 * real development marketplace.
 */
import { execa } from 'execa';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import type { CliResult } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { pluginZip } from '../helpers/zip-fixtures.js';
import { expectOneError, isolatedEnv, uniqueName } from './marketplace-helpers.js';
import { pluginProject, writeSources } from './marketplace-plugin.js';

let srv!: DevServer;

useDevServer((s) => (srv = s));

async function mp(dir: string, args: string[], json = false): Promise<CliResult> {
  return runMain([...(json ? ['--json'] : []), 'marketplace', ...args], { cwd: dir, env: await isolatedEnv(srv.env(srv.developer)) });
}

/** Submit requests the marketplace received for this plugin. */
const uploads = (name: string) => srv.requests.filter((q) => q.route === 'submit' && q.url.includes(name));

/** A project whose archive is built into out/ (not dist/). */
async function builtInto(out: string): Promise<{ dir: string; name: string; zip: string }> {
  const name = uniqueName('arch');
  const dir = await pluginProject({ name });
  await fs.rm(path.join(dir, 'dist'), { recursive: true });
  const b = await runMain(['build', '--out', out], { cwd: dir });
  expect(b.exitCode, b.stderr).toBe(0);
  return { dir, name, zip: path.join(out, `${name}-1.0.0.zip`) };
}

describe('--archive <path>', () => {
  it('prepare writes the listing beside the given archive; submit uploads that archive (no dist/ needed)', async () => {
    const { dir, name, zip } = await builtInto('out');
    const p = await mp(dir, ['prepare', '--archive', zip]);
    expect(p.exitCode, p.stderr).toBe(0);
    expect(p.stdout).toContain(`Wrote out/${name}-1.0.0.listing.json`);
    const listing = JSON.parse(await fs.readFile(path.join(dir, 'out', `${name}-1.0.0.listing.json`), 'utf8'));
    const sha = (await fs.readFile(path.join(dir, `${zip}.sha256`), 'utf8')).split(' ')[0];
    expect(listing.archive).toMatchObject({ file: `${name}-1.0.0.zip`, sha256: sha });
    await expect(fs.stat(path.join(dir, 'dist'))).rejects.toThrow();

    const s = await mp(dir, ['submit', '--archive', zip], true);
    expect(s.exitCode, s.stderr).toBe(0);
    expect(JSON.parse(s.stdout)).toMatchObject({ plugin: name, sha256: sha, listingFile: `out/${name}-1.0.0.listing.json`, existing: false });
    expect(srv.countSubmissions(name)).toBe(1);
  });

  it('an archive outside the project, by absolute path, and one under another name', async () => {
    const { dir, name, zip } = await builtInto('out');
    const elsewhere = await fs.mkdtemp(path.join(path.dirname(dir), 'pxp-elsewhere-'));
    const moved = path.join(elsewhere, 'release.zip');
    await fs.copyFile(path.join(dir, zip), moved);
    const s = await mp(dir, ['submit', '--archive', moved]);
    expect(s.exitCode, s.stderr).toBe(0);
    expect(s.stderr).toContain(`listing written to ${path.join(elsewhere, 'release.listing.json')}`);
    expect(srv.countSubmissions(name)).toBe(1);
  });

  it('a path that is not there, a folder, a path through a file, a FIFO: exit 2, one line, nothing written or sent', async () => {
    const { dir, name } = await builtInto('out');
    await execa('mkfifo', [path.join(dir, 'pipe.zip')]);
    const cases: [string, RegExp][] = [
      ['nope.zip', /--archive nope\.zip: no such file/],
      ['out', /--archive out is a folder, not an archive/],
      ['CHANGELOG.md/x.zip', /--archive CHANGELOG\.md\/x\.zip: no such file/],
      ['pipe.zip', /--archive pipe\.zip is not a regular file, not an archive/],
    ];
    for (const cmd of ['prepare', 'submit']) {
      for (const [given, re] of cases) {
        const r = await mp(dir, [cmd, '--archive', given]);
        expectOneError(r, 2, re, /pass the \.zip that `plexichat-plugin build --out <dir>` wrote/);
      }
      const j = await mp(dir, [cmd, '--archive', 'nope.zip'], true);
      expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'ARCHIVE_NOT_FOUND', exitCode: 2 });
    }
    expect(uploads(name)).toEqual([]);
    expect((await fs.readdir(path.join(dir, 'out'))).sort()).toEqual([`${name}-1.0.0.cdx.json`, `${name}-1.0.0.zip`, `${name}-1.0.0.zip.sha256`]);
  });

  it("not a zip, an empty file, a zip that is not a plugin: exit 1 with verify's diagnostics, nothing written or sent", async () => {
    const { dir, name } = await builtInto('out');
    await fs.writeFile(path.join(dir, 'out', 'text.zip'), 'just some text\n');
    await fs.writeFile(path.join(dir, 'out', 'empty.zip'), '');
    await fs.writeFile(path.join(dir, 'out', 'nomanifest.zip'), pluginZip({ name, omit: ['config/plugin.yaml'] }));
    await fs.writeFile(path.join(dir, 'out', 'nocode.zip'), pluginZip({ name, omit: ['src/plugin.py', 'src/__init__.py'] }));
    const cases: [string, RegExp, string][] = [
      [
        'out/text.zip',
        /out\/text\.zip would be refused by the marketplace: not a readable zip archive: .* \[BAD_ZIPFILE\]; nothing was sent/,
        'ARCHIVE_REFUSED',
      ],
      ['out/empty.zip', /the listing is not ready|out\/empty\.zip is empty/, 'LISTING_INCOMPLETE'],
      ['out/nomanifest.zip', /would be refused by the marketplace: .*config\/plugin\.yaml.* \[MANIFEST_MISSING\]/, 'ARCHIVE_REFUSED'],
      ['out/nocode.zip', /would be refused by the marketplace: .* \[CODE_MISSING\]/, 'ARCHIVE_REFUSED'],
    ];
    for (const cmd of ['prepare', 'submit']) {
      for (const [given, re, code] of cases) {
        const r = await mp(dir, [cmd, '--archive', given]);
        expect(r.exitCode, r.stderr).toBe(1);
        expect(r.stderr).toMatch(re);
        expect(r.stderr).not.toMatch(/unexpected internal error|\n\s+at /);
        const doc = JSON.parse((await mp(dir, [cmd, '--archive', given], true)).stdout);
        // prepare reports an incomplete listing as its result ({ ok: false, problems }), submit as an error.
        if (cmd === 'prepare' && code === 'LISTING_INCOMPLETE') expect(doc).toMatchObject({ ok: false, problems: [{ code: 'EMPTY_ARCHIVE' }] });
        else expect(doc.error.code).toBe(code);
      }
    }
    expect(uploads(name)).toEqual([]);
    const left = await fs.readdir(path.join(dir, 'out'));
    expect(left.filter((f) => f.endsWith('.listing.json'))).toEqual([]);
  });

  it("another plugin's or another version's archive: exit 1 naming both, nothing sent", async () => {
    const { dir, name, zip } = await builtInto('out');
    const other = await builtInto('out');
    const theirs = path.join(other.dir, other.zip);
    const r = await mp(dir, ['submit', '--archive', theirs]);
    expectOneError(r, 1, new RegExp(`${other.name}-1\\.0\\.0\\.zip holds ${other.name} 1\\.0\\.0, but this project is ${name} 1\\.0\\.0`));
    // The project moved on to 1.1.0; the archive in out/ is still 1.0.0.
    await writeSources(dir, { name, version: '1.1.0' });
    const old = await mp(dir, ['prepare', '--archive', zip], true);
    expect(old.exitCode).toBe(1);
    expect(JSON.parse(old.stdout).error).toMatchObject({
      code: 'ARCHIVE_MISMATCH',
      archivePlugin: { name, version: '1.0.0' },
      plugin: { name, version: '1.1.0' },
    });
    expect(uploads(name)).toEqual([]);
    expect(uploads(other.name)).toEqual([]);
  });
});

describe('submit runs verify first', () => {
  it('an archive damaged after build is refused before any upload, with the lines `verify` prints (exit 1)', async () => {
    const name = uniqueName('damaged');
    const dir = await pluginProject({ name });
    const zip = path.join(dir, 'dist', `${name}-1.0.0.zip`);
    const bytes = await fs.readFile(zip);
    bytes[bytes.length - 30] ^= 0xff;
    await fs.writeFile(zip, bytes);
    // A fresh-looking .sha256 of the damaged bytes: the listing is complete, only verify can tell.
    const sha = (await execa('sha256sum', [zip])).stdout.split(' ')[0];
    await fs.writeFile(`${zip}.sha256`, `${sha}  ${name}-1.0.0.zip\n`);

    const v = await runMain(['verify', `dist/${name}-1.0.0.zip`], { cwd: dir });
    expect(v.exitCode).toBe(1);
    const verifyLines = v.stderr.split('\n').filter((l) => l.startsWith('error: '));
    expect(verifyLines.length).toBeGreaterThan(0);

    for (const cmd of ['submit', 'prepare']) {
      const r = await mp(dir, [cmd]);
      expect(r.exitCode, r.stderr).toBe(1);
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('error: '));
      // Every finding but the last as verify prints it, then one line naming the last.
      expect(lines.slice(0, -1)).toEqual(verifyLines.slice(0, -1));
      const lastFinding = verifyLines[verifyLines.length - 1].slice('error: '.length);
      expect(lines[lines.length - 1]).toBe(
        `error: dist/${name}-1.0.0.zip would be refused by the marketplace: ${lastFinding}${verifyLines.length > 1 ? ` (and ${verifyLines.length - 1} more, above)` : ''}; nothing was sent`,
      );
      expect(r.stderr).toMatch(
        new RegExp(`hint: rebuild it with \`plexichat-plugin build\`; \`plexichat-plugin verify dist/${name}-1\\.0\\.0\\.zip\` runs the same checks`),
      );
    }
    const j = await mp(dir, ['submit'], true);
    const doc = JSON.parse(j.stdout);
    expect(doc.error).toMatchObject({ code: 'ARCHIVE_REFUSED', exitCode: 1, archive: `dist/${name}-1.0.0.zip` });
    expect(doc.error.findings.length).toBe(verifyLines.length);
    expect(uploads(name)).toEqual([]);
    expect(srv.countSubmissions(name)).toBe(0);
    await expect(fs.stat(path.join(dir, 'dist', `${name}-1.0.0.listing.json`))).rejects.toThrow();
  });

  it("a .sig that is not a signature document: refused locally with verify's code, nothing sent", async () => {
    const name = uniqueName('badsig');
    const dir = await pluginProject({ name });
    await fs.writeFile(path.join(dir, 'dist', `${name}-1.0.0.zip.sig`), '{"format": "other/9"}\n');
    const r = await mp(dir, ['submit'], true);
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stdout).error.code).toBe('SIGNATURE_MALFORMED');
    expect(JSON.parse(r.stdout).error.message).toMatch(/is not a signature document/);
    expect(uploads(name)).toEqual([]);
  });

  it("a .sig of this archive that names another version: verify's WRONG_PLUGIN, refused before upload; prepare is not stopped by it", async () => {
    const name = uniqueName('wrongsig');
    const dir = await pluginProject({ name });
    const keyDir = await fs.mkdtemp(path.join(path.dirname(dir), 'pxp-key-'));
    const key = path.join(keyDir, 'signing-key.pem');
    expect((await runMain(['keys', 'generate', '--out', key])).exitCode).toBe(0);
    const b = await runMain(['build', '--sign', '--key', key], { cwd: dir });
    expect(b.exitCode, b.stderr).toBe(0);
    const sigFile = path.join(dir, 'dist', `${name}-1.0.0.zip.sig`);
    const sig = JSON.parse(await fs.readFile(sigFile, 'utf8'));
    await fs.writeFile(sigFile, JSON.stringify({ ...sig, plugin: { name, version: '9.9.9' } }));
    const v = await runMain(['--json', 'verify', `dist/${name}-1.0.0.zip`], { cwd: dir });
    const code = JSON.parse(v.stdout).signature.code as string;
    expect(v.exitCode).toBe(1);

    const r = await mp(dir, ['submit']);
    expectOneError(r, 1, new RegExp(`^error: ${name}-1\\.0\\.0\\.zip\\.sig: .*; nothing was sent$`));
    const j = await mp(dir, ['submit'], true);
    expect(JSON.parse(j.stdout).error.code).toBe(code);
    expect(uploads(name)).toEqual([]);
    // The listing does not depend on the .sig: prepare writes it (submit and verify judge the .sig).
    expect((await mp(dir, ['prepare'])).exitCode).toBe(0);
  });

  it('a good archive passes verify and is uploaded once (warnings do not stop it)', async () => {
    const name = uniqueName('good');
    const dir = await pluginProject({ name });
    const r = await mp(dir, ['submit']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(uploads(name).map((q) => q.status)).toEqual([201]);
  });
});
