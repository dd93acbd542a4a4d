import { describe, expect, it } from 'vitest';
import { badPattern, parseIgnoreFile } from '../../../src/core/package/file-list.js';
import { checkEntryName, showName, twinKey } from '../../../src/core/package/names.js';
import { scanSecrets, secretByName } from '../../../src/core/package/secrets.js';
import { dosDateTime } from '../../../src/core/package/zip-writer.js';
import { parseIntegrity, serializeIntegrity } from '../../../src/core/package/integrity.js';

describe('entry names', () => {
  it.each(['src/plugin.py', 'docs/README.md', 'src/caf\u00e9.py', '.pluginrc', 'a/b/c.d.e'])('accepts %j', (n) => {
    expect(checkEntryName(n)).toBeUndefined();
  });
  it.each([
    ['', 'NAME_EMPTY'],
    ['../x', 'NAME_TRAVERSAL'],
    ['a/./b', 'NAME_NOT_NORMALIZED'],
    ['/abs', 'NAME_ABSOLUTE'],
    ['c:x', 'NAME_ABSOLUTE'],
    ['a\\b', 'NAME_BACKSLASH'],
    ['a\nb', 'NAME_CONTROL_CHAR'],
    ['src/aux.py', 'NAME_WINDOWS'],
    ['src/a:b', 'NAME_WINDOWS'],
    ['src/star*.py', 'NAME_WINDOWS'],
    ['src/trailing.', 'NAME_WINDOWS'],
    ['src/space ', 'NAME_WINDOWS'],
    [`src/${'x'.repeat(256)}`, 'NAME_TOO_LONG'],
    ['src/evil\u202eyp.txt', 'NAME_INVISIBLE_CHAR'],
    ['src/a\u200bb', 'NAME_INVISIBLE_CHAR'],
    ['src/a\u2060b', 'NAME_INVISIBLE_CHAR'],
    ['\ufeffsrc/a', 'NAME_INVISIBLE_CHAR'],
    ['src/a\u2800b', 'NAME_INVISIBLE_CHAR'],
    ['src/a\ue000b', 'NAME_INVISIBLE_CHAR'],
    ['src/a\u205fb', 'NAME_INVISIBLE_CHAR'],
    ['src\u2215x', 'NAME_CONFUSABLE_CHAR'],
    ['src\u29f5x', 'NAME_CONFUSABLE_CHAR'],
    ['src\u2572x', 'NAME_CONFUSABLE_CHAR'],
    ['src/x\u2024py', 'NAME_CONFUSABLE_CHAR'],
    ['src/x\ufe52py', 'NAME_CONFUSABLE_CHAR'],
    ['src/a\uff1ab', 'NAME_CONFUSABLE_CHAR'],
  ])('refuses %j (%s)', (n, code) => {
    expect(checkEntryName(n)?.code).toBe(code);
  });
  it('shows refused characters escaped and keeps letters', () => {
    expect(showName('src/evil\u202eyp.txt')).toBe('"src/evil\\u202eyp.txt"');
    expect(showName('src\u2215x')).toBe('"src\\u2215x"');
    expect(showName('src/caf\u00e9 x.py')).toBe('"src/caf\u00e9 x.py"');
  });
  it('folds case and Unicode normalization for twins', () => {
    expect(twinKey('Docs/README.md')).toBe(twinKey('docs/readme.md'));
    expect(twinKey('caf\u00e9')).toBe(twinKey('cafe\u0301'));
  });
});

describe('.pluginignore patterns', () => {
  it.each(['*.log', '!keep.log', 'build/', '/root-only', 'a/**/b', '[abc].py', '[!a-z]x', '\\#literal', 'x[[:digit:]]'])('accepts %j', (p) =>
    expect(badPattern(p)).toBeUndefined(),
  );
  it.each([
    ['src/[abc', 'never closed'],
    ['[z-a].py', 'reversed'],
    ['trailing\\', 'lone backslash'],
    ['../outside', '".." never matches'],
    ['!', 'empty'],
    ['C:\\x', 'not absolute paths'],
  ])('refuses %j', (p, why) => expect(badPattern(p)).toContain(why));
  it('names the line of a bad pattern', () => {
    expect(() => parseIgnoreFile('# c\n*.log\n[oops\n')).toThrow(/\.pluginignore:3: bad pattern "\[oops"/);
  });
  it('reports which line dropped a path', () => {
    const { matcher } = parseIgnoreFile('*.log\n\n# c\nsecret/\n');
    expect(matcher.test('x/a.log').rule?.mark).toBe('1');
    expect(matcher.test('secret/').rule?.mark).toBe('4');
  });
});

describe('secrets', () => {
  it('by name', () => {
    expect(secretByName('.env')?.rule).toBe('env-file');
    expect(secretByName('config/.env.production')?.rule).toBe('env-file');
    expect(secretByName('.env.example')).toBeUndefined();
    expect(secretByName('keys/id_rsa')?.rule).toBe('private-key-file');
    expect(secretByName('certs/server.pem')?.rule).toBe('private-key-file');
    expect(secretByName('src/plugin.py')).toBeUndefined();
  });
  it('by content, with line numbers and without the value', () => {
    const found = scanSecrets(
      'src/x.py',
      Buffer.from('a = 1\n-----BEGIN OPENSSH PRIVATE KEY-----\nb\nT = "ghp_' + 'Z'.repeat(36) + '"\nhttps://hooks.slack.com/services/T000/B000/XXXX\n'),
    );
    expect(found.map((f) => [f.rule, f.line])).toEqual([
      ['private-key', 2],
      ['github-token', 4],
      ['slack-webhook', 5],
    ]);
    expect(JSON.stringify(found)).not.toContain('ZZZZ');
  });
  it('tokens in .npmrc and .pypirc only in those files', () => {
    expect(scanSecrets('.npmrc', Buffer.from('a=b\n//r/:_authToken=xyz\n'))[0]).toMatchObject({ rule: 'npmrc-token', line: 2 });
    expect(scanSecrets('.pypirc', Buffer.from('[pypi]\nusername = me\npassword = pw\n'))[0]).toMatchObject({ rule: 'pypirc-password', line: 3 });
    expect(scanSecrets('src/a.py', Buffer.from('password = pw\n'))).toEqual([]);
  });
  it('does not flag look-alikes', () => {
    expect(scanSecrets('a.py', Buffer.from('AKIA = 1\nghp_short\nBEGIN PUBLIC KEY\n'))).toEqual([]);
  });
});

describe('format details', () => {
  it('DOS timestamps: default 1980-01-01, SOURCE_DATE_EPOCH in UTC, clamped', () => {
    expect(dosDateTime(undefined)).toEqual({ date: 33, time: 0 });
    expect(dosDateTime(0)).toEqual({ date: 33, time: 0 });
    const t = dosDateTime(Date.UTC(2024, 1, 29, 13, 45, 31) / 1000);
    expect(t.date).toBe(((2024 - 1980) << 9) | (2 << 5) | 29);
    expect(t.time).toBe((13 << 11) | (45 << 5) | 15);
  });
  it('the integrity listing round-trips and is sorted byte-wise', () => {
    const buf = serializeIntegrity({ name: 'p', version: '1.0.0' }, [
      { path: 'b', size: 1, sha256: 'b'.repeat(64) },
      { path: 'B', size: 2, sha256: 'a'.repeat(64) },
    ]);
    const l = parseIntegrity(buf);
    expect(l.files.map((f) => f.path)).toEqual(['B', 'b']);
    expect(() => parseIntegrity(Buffer.from('{"format":"x"}'))).toThrow(/unknown format/);
  });
});
