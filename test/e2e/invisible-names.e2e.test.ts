/**
 * Names that hide what they are: bidi overrides, zero-width and other
 * Unicode format characters, unusual spaces, and look-alikes of `/`, `\`,
 * `.` and `:`. One rule (src/core/package/names.ts checkEntryName) refuses
 * them in `build` (a file in the project), `verify` (a crafted archive) and
 * the development marketplace (an upload), and every message shows the
 * character escaped.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { hasStackTrace } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { submit } from '../helpers/server-zips.js';
import { tempDir } from '../helpers/temp-project.js';
import { pluginZip, writeZip } from '../helpers/zip-fixtures.js';

/** [label, member name, code, how the name must be shown] */
const MEMBERS: [string, string, string, string][] = [
  ['a right-to-left override', 'src/evil\u202eyp.txt', 'NAME_INVISIBLE_CHAR', '"src/evil\\u202eyp.txt"'],
  ['a left-to-right isolate', 'src/a\u2066b.py', 'NAME_INVISIBLE_CHAR', '"src/a\\u2066b.py"'],
  ['a right-to-left mark', 'src/a\u200fb.py', 'NAME_INVISIBLE_CHAR', '"src/a\\u200fb.py"'],
  ['a zero-width space', 'src/plu\u200bgin2.py', 'NAME_INVISIBLE_CHAR', '"src/plu\\u200bgin2.py"'],
  ['a zero-width non-joiner', 'src/a\u200cb.py', 'NAME_INVISIBLE_CHAR', '"src/a\\u200cb.py"'],
  ['a zero-width joiner', 'src/a\u200db.py', 'NAME_INVISIBLE_CHAR', '"src/a\\u200db.py"'],
  ['a word joiner', 'src/a\u2060b.py', 'NAME_INVISIBLE_CHAR', '"src/a\\u2060b.py"'],
  ['a byte-order mark', 'src/\ufeffx.py', 'NAME_INVISIBLE_CHAR', '"src/\\ufeffx.py"'],
  ['a soft hyphen', 'src/a\u00adb.py', 'NAME_INVISIBLE_CHAR', '"src/a\\u00adb.py"'],
  ['a Mongolian vowel separator', 'src/a\u180eb.py', 'NAME_INVISIBLE_CHAR', '"src/a\\u180eb.py"'],
  ['a Hangul filler', 'src/a\u3164b.py', 'NAME_INVISIBLE_CHAR', '"src/a\\u3164b.py"'],
  ['a variation selector', 'src/a\ufe0fb.py', 'NAME_INVISIBLE_CHAR', '"src/a\\ufe0fb.py"'],
  ['a tag character (astral Cf)', 'src/a\u{e0041}b.py', 'NAME_INVISIBLE_CHAR', '"src/a\\udb40\\udc41b.py"'],
  ['a no-break space', 'src/a\u00a0b.py', 'NAME_INVISIBLE_CHAR', '"src/a\\u00a0b.py"'],
  ['a line separator', 'src/a\u2028b.py', 'NAME_INVISIBLE_CHAR', '"src/a\\u2028b.py"'],
  ['an ideographic space', 'src/a\u3000b.py', 'NAME_INVISIBLE_CHAR', '"src/a\\u3000b.py"'],
  ['a division slash', 'src/a\u2215evil.py', 'NAME_CONFUSABLE_CHAR', '"src/a\\u2215evil.py"'],
  ['a fraction slash', 'src/a\u2044evil.py', 'NAME_CONFUSABLE_CHAR', '"src/a\\u2044evil.py"'],
  ['a big solidus', 'src/a\u29f8evil.py', 'NAME_CONFUSABLE_CHAR', '"src/a\\u29f8evil.py"'],
  ['a fullwidth solidus', 'src/a\uff0fevil.py', 'NAME_CONFUSABLE_CHAR', '"src/a\\uff0fevil.py"'],
  ['a combining long solidus overlay', 'src/a\u0338evil.py', 'NAME_CONFUSABLE_CHAR', '"src/a\\u0338evil.py"'],
  ['a set minus (backslash look-alike)', 'src/a\u2216evil.py', 'NAME_CONFUSABLE_CHAR', '"src/a\\u2216evil.py"'],
  ['a fullwidth reverse solidus', 'src/a\uff3cevil.py', 'NAME_CONFUSABLE_CHAR', '"src/a\\uff3cevil.py"'],
  ['a small reverse solidus', 'src/a\ufe68evil.py', 'NAME_CONFUSABLE_CHAR', '"src/a\\ufe68evil.py"'],
  ['a two-dot leader (".." look-alike)', 'src/\u2025/evil.py', 'NAME_CONFUSABLE_CHAR', '"src/\\u2025/evil.py"'],
  ['a fullwidth full stop', 'src/evil\uff0epy', 'NAME_CONFUSABLE_CHAR', '"src/evil\\uff0epy"'],
  ['a ratio sign (":" look-alike)', 'src/c\u2236x.py', 'NAME_CONFUSABLE_CHAR', '"src/c\\u2236x.py"'],
];

async function plugin(): Promise<string> {
  const root = await tempDir();
  const dir = path.join(root, 'plugin');
  const r = await runMain(['init', dir, '--name', 'inv_plugin', '--category', 'utility', '--yes']);
  expect(r.exitCode, r.stderr).toBe(0);
  return dir;
}

describe('build refuses a file whose name hides a character, naming it escaped, and writes nothing', () => {
  for (const [label, name, code, shown] of MEMBERS) {
    it(label, async () => {
      const dir = await plugin();
      await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await fs.writeFile(path.join(dir, name), 'x = 1\n');
      const r = await runMain(['build'], { cwd: dir });
      expect(r.exitCode, r.stderr).toBe(1);
      expect(hasStackTrace(r.stderr)).toBe(false);
      expect(r.stderr).toContain(`error: ${shown}: the file name contains U+`);
      expect(r.stderr).toMatch(/hint: rename the file/);
      // The terminal never receives the character itself.
      expect(r.stderr).not.toContain(name);
      await expect(fs.stat(path.join(dir, 'dist'))).rejects.toMatchObject({ code: 'ENOENT' });
      const j = await runMain(['--json', 'build'], { cwd: dir });
      expect(j.exitCode).toBe(1);
      const e = JSON.parse(j.stdout).error;
      expect(e.code).toBe(code);
      expect(e.problems).toEqual([expect.objectContaining({ code, path: name })]);
    });
  }

  it('plain non-ASCII letters, emoji and CJK names still build', async () => {
    const dir = await plugin();
    for (const n of ['src/caf\u00e9.py', 'src/\u{1f600}.txt', 'src/\u30ce\u30fc\u30c8.txt', 'src/\u0645\u0644\u0641.txt'])
      await fs.writeFile(path.join(dir, n), 'x\n');
    const r = await runMain(['build'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
  });
});

describe('verify refuses a crafted archive with such a member (exit 1), showing it escaped', () => {
  for (const [label, name, code, shown] of MEMBERS) {
    it(label, async () => {
      const dir = await tempDir();
      await writeZip(path.join(dir, 'evil.zip'), pluginZip({ files: { [name]: 'x = 1\n' } }));
      const r = await runMain(['verify', 'evil.zip'], { cwd: dir });
      expect(r.exitCode, r.stdout + r.stderr).toBe(1);
      expect(hasStackTrace(r.stderr)).toBe(false);
      expect(r.stderr).toContain(`${shown}: unsafe entry name: contains U+`);
      expect(r.stderr).toContain(`[${code}]`);
      expect(r.stdout + r.stderr).not.toContain(name);
      const j = await runMain(['--json', 'verify', 'evil.zip'], { cwd: dir });
      expect(j.exitCode).toBe(1);
      const doc = JSON.parse(j.stdout);
      expect(doc.ok).toBe(false);
      expect(doc.findings).toEqual(expect.arrayContaining([expect.objectContaining({ code, severity: 'error' })]));
    });
  }
});

describe('the development marketplace refuses an upload with such a member: 422 INVALID_ARCHIVE, nothing stored', () => {
  let srv!: DevServer;
  useDevServer((s) => (srv = s));
  for (const [label, name, code] of MEMBERS) {
    it(label, async () => {
      const before = await srv.storedArchives();
      const r = await submit(srv.url, srv.developer, 'inv_plugin', pluginZip({ name: 'inv_plugin', files: { [name]: 'x = 1\n' } }));
      expect(r.status, JSON.stringify(r.body)).toBe(422);
      expect(r.body.error.code).toBe('INVALID_ARCHIVE');
      expect(r.body.error.findings.map((f: { code: string }) => f.code)).toContain(code);
      expect(srv.countSubmissions('inv_plugin')).toBe(0);
      expect(await srv.storedArchives()).toEqual(before);
    });
  }
});
