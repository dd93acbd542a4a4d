/**
 * `version` under attack (issue 20, classes 4, 11, 15, 16): linked files are
 * written through (the target gets the change, the link stays), runs at once
 * are serialised by a lock (every run's notes land, the version is bumped
 * once per run), a note cannot forge a heading, one heading style is
 * written, a folder or FIFO CHANGELOG.md is refused by the one reader, and a
 * marketplace that publishes a version that is not semver is exit 3, not a
 * stack. Run as a process (the concurrent and signal cases) or through main.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, hasStackTrace, runCli } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';

const EPOCH = { SOURCE_DATE_EPOCH: '1772600767' };
const DATE = '2026-03-04';
const offline = { PLEXICHAT_MARKETPLACE_URL: undefined, ...EPOCH };

async function project(version = '1.0.0', changelog?: string): Promise<string> {
  const dir = await tempDir({}, 'pxp-version-');
  await fs.mkdir(path.join(dir, 'config'));
  await fs.writeFile(path.join(dir, 'config', 'plugin.yaml'), `plugin:\n  name: safe_plugin\n  version: "${version}"\n`);
  if (changelog !== undefined) await fs.writeFile(path.join(dir, 'CHANGELOG.md'), changelog);
  return dir;
}

const read = (dir: string, rel: string) => fs.readFile(path.join(dir, rel), 'utf8');
const versionOf = async (dir: string) => /version: "([^"]+)"/.exec(await read(dir, 'config/plugin.yaml'))![1];

/** The lock file `version` takes for this project (named after the manifest's real path, in the temp folder). */
async function lockFileOf(dir: string): Promise<string> {
  const real = await fs.realpath(path.join(dir, 'config', 'plugin.yaml'));
  return path.join(os.tmpdir(), `plexichat-plugin-version-${createHash('sha256').update(real).digest('hex').slice(0, 24)}.lock`);
}

describe('version writes through symbolic links', () => {
  it('a linked CHANGELOG.md: the target gets the section, the link stays a link', async () => {
    const dir = await project('1.0.0');
    const shared = path.join(await tempDir({}, 'pxp-shared-'), 'CHANGES.md');
    await fs.writeFile(shared, '# Changelog\n\n## [1.0.0] - 2026-01-01\n\n- First.\n');
    await fs.symlink(shared, path.join(dir, 'CHANGELOG.md'));
    const r = await runMain(['version', 'patch', '--note', 'Fixed a crash'], { cwd: dir, env: offline });
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await fs.lstat(path.join(dir, 'CHANGELOG.md'))).isSymbolicLink()).toBe(true);
    expect(await fs.readFile(shared, 'utf8')).toBe(`# Changelog\n\n## [1.0.1] - ${DATE}\n\n- Fixed a crash\n\n## [1.0.0] - 2026-01-01\n\n- First.\n`);
  });

  it('a linked manifest: the target is bumped, the link stays a link', async () => {
    const dir = await project('1.0.0');
    const real = path.join(dir, 'config', 'real.yaml');
    await fs.rename(path.join(dir, 'config', 'plugin.yaml'), real);
    await fs.symlink('real.yaml', path.join(dir, 'config', 'plugin.yaml'));
    const r = await runMain(['version', 'minor', '--note', 'x'], { cwd: dir, env: offline });
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await fs.lstat(path.join(dir, 'config', 'plugin.yaml'))).isSymbolicLink()).toBe(true);
    expect(await fs.readFile(real, 'utf8')).toContain('version: "1.1.0"');
  });

  it('a CHANGELOG.md linking to nothing is refused (BROKEN_LINK), nothing changed', async () => {
    const dir = await project('1.0.0');
    await fs.symlink('missing/CHANGES.md', path.join(dir, 'CHANGELOG.md'));
    const r = await runMain(['--json', 'version', 'patch', '--note', 'x'], { cwd: dir, env: offline });
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'BROKEN_LINK' });
    expect(await fs.readlink(path.join(dir, 'CHANGELOG.md'))).toBe('missing/CHANGES.md');
    expect(await versionOf(dir)).toBe('1.0.0');
  });
});

describe('version: CHANGELOG.md that is not a regular file', () => {
  for (const kind of ['folder', 'fifo', 'device'] as const) {
    it(`a ${kind} CHANGELOG.md: NOT_A_REGULAR_FILE at once (not READ_FAILED), nothing changed`, async () => {
      const dir = await project('1.0.0');
      const file = path.join(dir, 'CHANGELOG.md');
      if (kind === 'folder') await fs.mkdir(file);
      else if (kind === 'fifo') await execa('mkfifo', [file]);
      else await fs.symlink('/dev/zero', file);
      const r = await runCli(['--json', 'version', 'patch', '--note', 'x'], { cwd: dir, env: offline, timeout: 20_000 });
      expect(r.exitCode, r.stderr).toBe(1);
      const err = JSON.parse(r.stdout).error;
      expect(err.code).toBe('NOT_A_REGULAR_FILE');
      expect(err.message).toMatch(/^CHANGELOG\.md is (a folder|a named pipe \(FIFO\)|a device), not a regular file$/);
      expect(err.hint).toBeTruthy();
      expect(hasStackTrace(r.stderr)).toBe(false);
      expect(await versionOf(dir)).toBe('1.0.0');
    });
  }
});

describe('version runs at once are serialised', () => {
  for (const n of [3, 5]) {
    it(`${n} concurrent \`version patch\`: each succeeds with its note, the version is bumped ${n} times`, async () => {
      const dir = await project('1.0.0', '# Changelog\n');
      const runs = Array.from({ length: n }, (_, i) =>
        execa(process.execPath, [BIN, 'version', 'patch', '--note', `note ${i}`], {
          cwd: dir,
          env: { CI: '1', NO_COLOR: '1', PLEXICHAT_MARKETPLACE_URL: undefined, PLEXICHAT_CACHE_DIR: 'off', ...EPOCH },
          reject: false,
          timeout: 60_000,
        }),
      );
      const results = await Promise.all(runs);
      const ok = results.filter((r) => r.exitCode === 0);
      for (const r of results) {
        // Every run succeeded or failed cleanly.
        expect([0, 1]).toContain(r.exitCode);
        expect(hasStackTrace(String(r.stderr))).toBe(false);
      }
      expect(ok.length).toBe(n);
      expect(await versionOf(dir)).toBe(`1.0.${ok.length}`);
      const log = await read(dir, 'CHANGELOG.md');
      for (let i = 0; i < n; i++) expect(log.split(`- note ${i}\n`).length - 1).toBe(1);
      for (let v = 1; v <= n; v++) expect(log).toContain(`## [1.0.${v}] - ${DATE}`);
      await expect(fs.access(await lockFileOf(dir))).rejects.toThrow();
    });
  }

  it('a lock left by a run that was killed (its pid gone) is taken over', async () => {
    const dir = await project('1.0.0');
    const dead = execa(process.execPath, ['-e', '0']);
    await dead;
    await fs.writeFile(await lockFileOf(dir), `${dead.pid}\n`);
    const r = await runMain(['version', 'patch', '--note', 'after a crash'], { cwd: dir, env: offline });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await versionOf(dir)).toBe('1.0.1');
    await expect(fs.access(await lockFileOf(dir))).rejects.toThrow();
  });

  for (const [sig, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    it(`${sig} while waiting for another run's lock ends at once with exit ${code}, nothing changed`, async () => {
      const dir = await project('1.0.0', '# Changelog\n');
      const lock = await lockFileOf(dir);
      await fs.writeFile(lock, `${process.pid}\n`); // held by a live process: this test
      try {
        const child = execa(process.execPath, [BIN, 'version', 'patch', '--note', 'x'], {
          cwd: dir,
          env: { CI: '1', NO_COLOR: '1', PLEXICHAT_MARKETPLACE_URL: undefined, PLEXICHAT_CACHE_DIR: 'off', ...EPOCH },
          reject: false,
          timeout: 60_000,
        });
        await new Promise((r) => setTimeout(r, 1500));
        child.kill(sig);
        const r = await child;
        expect(r.exitCode, String(r.stderr)).toBe(code);
        expect(String(r.stderr)).toMatch(/^error: Cancelled \(SIG(TERM|INT)\)$/m);
        expect(hasStackTrace(String(r.stderr))).toBe(false);
        expect(await versionOf(dir)).toBe('1.0.0');
        expect(await read(dir, 'CHANGELOG.md')).toBe('# Changelog\n');
        expect(await fs.readFile(lock, 'utf8')).toBe(`${process.pid}\n`); // another's lock is left alone
      } finally {
        await fs.rm(lock, { force: true });
      }
    });
  }
});

describe('version --note stays one list item', () => {
  const breaks: [string, string][] = [
    ['a lone CR', '\r'],
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['NEL (U+0085)', '\u0085'],
    ['LINE SEPARATOR (U+2028)', '\u2028'],
    ['PARAGRAPH SEPARATOR (U+2029)', '\u2029'],
    ['a vertical tab', '\u000b'],
    ['a form feed', '\u000c'],
  ];
  for (const [what, br] of breaks) {
    it(`${what} in a note cannot forge a "## 8.8.8" heading`, async () => {
      const dir = await project('1.0.0', '# Changelog\n');
      const r = await runMain(['version', 'patch', '--note', `Fixed it${br}## 8.8.8${br}- forged`], { cwd: dir, env: offline });
      expect(r.exitCode, r.stderr).toBe(0);
      const log = await read(dir, 'CHANGELOG.md');
      expect(log).toBe(`# Changelog\n\n## [1.0.1] - ${DATE}\n\n- Fixed it ## 8.8.8 - forged\n`);
      // No line of the file starts a heading but the real ones.
      // eslint-disable-next-line no-control-regex -- the breaks are what is tested
      expect(log.split(/\r\n|[\n\r\u0085\u2028\u2029\u000b\u000c]/).filter((l) => /^\s*#/.test(l))).toEqual(['# Changelog', `## [1.0.1] - ${DATE}`]);
    });
  }

  it('a note that would itself be a heading is refused (exit 2, NOTE_IS_HEADING), nothing changed', async () => {
    for (const note of ['## 8.8.8', '# Pwned', '  ###### x', '\r## 8.8.8']) {
      const dir = await project('1.0.0', '# Changelog\n');
      const r = await runMain(['--json', 'version', 'patch', '--note', note], { cwd: dir, env: offline });
      expect(r.exitCode, note).toBe(2);
      expect(JSON.parse(r.stdout).error.code).toBe('NOTE_IS_HEADING');
      expect(await versionOf(dir)).toBe('1.0.0');
      expect(await read(dir, 'CHANGELOG.md')).toBe('# Changelog\n');
    }
  });

  it('a note starting with an issue number (#123) is a note', async () => {
    const dir = await project('1.0.0');
    const r = await runMain(['version', 'patch', '--note', '#123 fixed the login'], { cwd: dir, env: offline });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await read(dir, 'CHANGELOG.md')).toContain('- #123 fixed the login\n');
  });
});

describe('one CHANGELOG heading style written, every style read', () => {
  it('version writes "## [X.Y.Z] - date" as init does, after sections in the other styles', async () => {
    const dir = await project('1.2.0', '# Changelog\n\n## v1.2.0\n\n- third\n\n## 1.1.0\n\n- second\n\n## [1.0.0] - 2026-01-01\n\n- first\n');
    const r = await runMain(['version', 'minor', '--note', 'fourth'], { cwd: dir, env: offline });
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await read(dir, 'CHANGELOG.md')).split('\n').filter((l) => l.startsWith('## '))).toEqual([
      `## [1.3.0] - ${DATE}`,
      '## v1.2.0',
      '## 1.1.0',
      '## [1.0.0] - 2026-01-01',
    ]);
    // A section already there in another style is found (and kept), whatever its style.
    for (const [style, v] of [
      ['## v2.0.0', '2.0.0'],
      ['## 2.0.0', '2.0.0'],
      ['## [2.0.0] - 2026-02-02', '2.0.0'],
    ]) {
      const d = await project('1.0.0', `# Changelog\n\n${style}\n\n- ready\n`);
      const k = await runMain(['--json', 'version', v], { cwd: d, env: offline });
      expect(k.exitCode, k.stderr).toBe(0);
      expect(JSON.parse(k.stdout).changelog).toMatchObject({ action: 'kept', heading: style, empty: false });
    }
  });
});

describe('a marketplace that publishes a version that is not semver', () => {
  let server: http.Server;
  let url = '';
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const name = decodeURIComponent(/\/plugins\/([^/?]+)$/.exec(req.url ?? '')?.[1] ?? '');
      if (req.method === 'GET' && name) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ name, versions: [{ version: 'latest\n## 9.9.9', published_at: '2026-01-01T00:00:00Z' }] }));
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no' } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('version: exit 3 UNEXPECTED_RESPONSE, one line, no stack, nothing changed', async () => {
    const dir = await project('1.0.0', '# Changelog\n');
    const r = await runMain(['version', 'patch', '--note', 'x'], { cwd: dir, env: { ...offline, PLEXICHAT_MARKETPLACE_URL: url } });
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/^error: the marketplace at .* lists safe_plugin version "latest.*", which is not a semantic version \(X\.Y\.Z\)$/m);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(await versionOf(dir)).toBe('1.0.0');
    const j = await runMain(['--json', 'version', 'patch', '--note', 'x'], { cwd: dir, env: { ...offline, PLEXICHAT_MARKETPLACE_URL: url } });
    expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'UNEXPECTED_RESPONSE', exitCode: 3 });
  });

  it('check --profile release: the version and permissions steps fail with it, no stack', async () => {
    const dir = path.join(await tempDir(), 'p');
    expect((await runMain(['init', dir, '--name', 'safe_plugin', '--category', 'utility', '--yes'])).exitCode).toBe(0);
    const r = await runMain(['--json', 'check', '--profile', 'release'], { cwd: dir, env: { PLEXICHAT_MARKETPLACE_URL: url } });
    expect(hasStackTrace(r.stderr)).toBe(false);
    const doc = JSON.parse(r.stdout);
    for (const id of ['version', 'permissions']) {
      const step = doc.checks.find((c: { id: string }) => c.id === id);
      expect(step.status, id).toBe('failed');
      expect(step.findings[0]).toMatchObject({ ruleId: `${id}/UNEXPECTED_RESPONSE`, level: 'error' });
    }
    expect(r.exitCode).toBe(1);
  }, 180_000);
});
