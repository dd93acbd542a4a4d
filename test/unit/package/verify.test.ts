import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { requiredParts, verifyArchive } from '../../../src/core/package/verify.js';
import { tempDir } from '../../helpers/temp-project.js';
import { pluginZip, writeZip, zipBuffer, type FixtureEntry } from '../../helpers/zip-fixtures.js';

async function verifyBuf(buf: Buffer, opts?: Parameters<typeof verifyArchive>[1]) {
  const dir = await tempDir();
  return verifyArchive(await writeZip(path.join(dir, 'a.zip'), buf), opts);
}

function codes(r: { findings: { code: string; severity: string }[] }): string[] {
  return r.findings.filter((f) => f.severity === 'error').map((f) => f.code);
}

describe('verifyArchive', () => {
  it('accepts a well-formed plugin archive', async () => {
    const r = await verifyBuf(pluginZip());
    expect(r.findings).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.manifest?.plugin.name).toBe('demo_plugin');
    expect(r.entries).toBe(4);
  });

  it('checks the expected name and version', async () => {
    const r = await verifyBuf(pluginZip(), { expect: { name: 'other_plugin', version: '2.0.0' } });
    expect(codes(r)).toEqual(['NAME_MISMATCH', 'VERSION_MISMATCH']);
  });

  it.each([
    ['../../x.py', 'NAME_TRAVERSAL'],
    ['a/../../b.py', 'NAME_TRAVERSAL'],
    ['/etc/x', 'NAME_ABSOLUTE'],
    ['C:/x.py', 'NAME_ABSOLUTE'],
    ['a\\b.py', 'NAME_BACKSLASH'],
    ['src/a\u0001.py', 'NAME_CONTROL_CHAR'],
    ['src/CON.py', 'NAME_WINDOWS'],
    ['src//a.py', 'NAME_NOT_NORMALIZED'],
  ])('refuses the unsafe name %j', async (name, code) => {
    const r = await verifyBuf(pluginZip({ unlisted: [{ name, data: 'x' }] }));
    expect(r.ok).toBe(false);
    expect(r.findings).toContainEqual(expect.objectContaining({ code, entry: name, severity: 'error' }));
  });

  it('refuses symlink and FIFO entries', async () => {
    const r = await verifyBuf(
      pluginZip({
        unlisted: [
          { name: 'src/link.py', data: '/etc/passwd', mode: 0o120777 },
          { name: 'src/fifo', data: '', mode: 0o010644 },
        ],
      }),
    );
    expect(codes(r)).toEqual(expect.arrayContaining(['SYMLINK_ENTRY', 'SPECIAL_ENTRY']));
  });

  it('refuses duplicates: exact, case and NFC/NFD twins', async () => {
    const nfc = 'src/caf\u00e9.py';
    const nfd = 'src/cafe\u0301.py';
    const r = await verifyBuf(
      pluginZip({
        files: { [nfc]: 'a' },
        unlisted: [
          { name: 'src/plugin.py', data: 'evil' },
          { name: 'SRC/Plugin.py', data: 'evil' },
          { name: nfd, data: 'evil' },
        ],
      }),
    );
    const dups = r.findings.filter((f) => f.code === 'DUPLICATE_ENTRY').map((f) => f.entry);
    expect(dups).toEqual(['src/plugin.py', 'SRC/Plugin.py', nfd]);
  });

  it('refuses a bomb by ratio, by total size and by entry count', async () => {
    const big = Buffer.alloc(20 * 1024 * 1024);
    const ratio = await verifyBuf(pluginZip({ files: { 'src/zeros.bin': big } }));
    expect(codes(ratio)).toContain('ZIP_BOMB_RATIO');
    const total = await verifyBuf(pluginZip({ files: { 'src/a.bin': Buffer.alloc(3000) } }), { maxUncompressedBytes: 1000 });
    expect(codes(total)).toContain('ZIP_BOMB_SIZE');
    const many: FixtureEntry[] = Array.from({ length: 30 }, (_, i) => ({ name: `src/f${i}.py`, data: '' }));
    const count = await verifyBuf(zipBuffer(many), { maxEntries: 20 });
    expect(codes(count)).toEqual(['TOO_MANY_ENTRIES']);
  });

  it('catches a declared size that lies', async () => {
    const r = await verifyBuf(pluginZip({ unlisted: [{ name: 'src/lie.py', data: 'x'.repeat(5000), declaredSize: 10 }] }));
    expect(codes(r)).toContain('SIZE_MISMATCH');
  });

  it('catches overlapping entries (overlap bomb)', async () => {
    const r = await verifyBuf(
      zipBuffer([
        { name: 'config/plugin.yaml', data: 'x'.repeat(100) },
        { name: 'src/a.py', data: '', offsetOf: 0 },
      ]),
    );
    expect(codes(r)).toContain('OVERLAPPING_ENTRIES');
  });

  it('catches a tampered member, a bad CRC, unlisted and missing members', async () => {
    const tampered = await verifyBuf(pluginZip({ tamper: { 'src/plugin.py': 'print("evil")\n' } }));
    expect(tampered.findings).toContainEqual(expect.objectContaining({ code: 'INTEGRITY_MISMATCH', entry: 'src/plugin.py' }));
    const crc = await verifyBuf(pluginZip({ unlisted: [{ name: 'src/x.py', data: 'abc', crc: 1234 }] }));
    expect(codes(crc)).toEqual(expect.arrayContaining(['BAD_CRC', 'INTEGRITY_UNLISTED']));
    const noListing = await verifyBuf(pluginZip({ noListing: true }));
    expect(codes(noListing)).toEqual(['INTEGRITY_MISSING']);
  });

  it('refuses encrypted entries and unknown compression methods', async () => {
    const r = await verifyBuf(
      pluginZip({
        unlisted: [
          { name: 'src/enc.py', data: 'x', flags: 1 },
          { name: 'src/bz.py', data: 'x', method: 12 },
        ],
      }),
    );
    expect(codes(r)).toEqual(expect.arrayContaining(['ENCRYPTED_ENTRY', 'UNSUPPORTED_COMPRESSION']));
  });

  it('says "zip the contents, not the folder" for a manifest under a top folder', async () => {
    const r = await verifyBuf(pluginZip({ prefix: 'demo_plugin/' }));
    const f = r.findings.find((x) => x.code === 'MANIFEST_NOT_AT_ROOT');
    expect(f?.message).toMatch(/zip the contents, not the folder/);
  });

  it('reports an invalid manifest with its location', async () => {
    const r = await verifyBuf(pluginZip({ files: { 'config/plugin.yaml': 'plugin: [unclosed\n' } }));
    expect(r.ok).toBe(false);
    expect(r.findings.some((f) => f.entry === 'config/plugin.yaml' && f.severity === 'error')).toBe(true);
  });

  it('refuses non-zip input: empty, HTML, truncated', async () => {
    expect(codes(await verifyBuf(Buffer.alloc(0)))).toEqual(['BAD_ZIPFILE']);
    expect(codes(await verifyBuf(Buffer.from('<html><body>502 Bad Gateway</body></html>')))).toEqual(['BAD_ZIPFILE']);
    const good = pluginZip();
    expect(codes(await verifyBuf(good.subarray(0, good.length - 30)))).toEqual(['BAD_ZIPFILE']);
  });

  it('refuses names that are not UTF-8 flagged or whose Unicode Path extra disagrees', async () => {
    const r = await verifyBuf(
      pluginZip({
        unlisted: [{ name: Buffer.from([0x73, 0x72, 0x63, 0x2f, 0x82, 0x2e, 0x70, 0x79]), data: 'x' }],
      }),
    );
    expect(codes(r)).toContain('NAME_ENCODING');
  });

  describe('the code: a plugin archive holds Python under src/', () => {
    it.each([
      [['src/__init__.py', 'src/plugin.py'], ['CODE_MISSING']],
      [['src/plugin.py'], []],
      [['src/__init__.py'], []],
    ])('without %j: %j', async (omit, expected) => {
      const r = await verifyBuf(pluginZip({ omit }));
      expect(codes(r)).toEqual(expected);
    });

    it.each([
      [{ 'src/README.md': '# not code\n' }, ['CODE_MISSING']],
      [{ 'plugin.py': 'print(1)\n' }, ['CODE_MISSING']],
      [{ 'lib/src/plugin.py': 'print(1)\n' }, ['CODE_MISSING']],
      [{ 'src/pkg/module.py': 'print(1)\n' }, []],
    ])('with only %j beside the manifest: %j', async (files, expected) => {
      const r = await verifyBuf(pluginZip({ omit: ['src/__init__.py', 'src/plugin.py'], files }));
      expect(codes(r)).toEqual(expected);
    });
  });
});

describe('requiredParts (build --dry-run: what verify would say from the names alone)', () => {
  it.each([
    [['config/plugin.yaml', 'src/plugin.py'], []],
    [['config/plugin.yaml'], ['CODE_MISSING']],
    [['src/plugin.py'], ['MANIFEST_MISSING']],
    [[], ['MANIFEST_MISSING', 'CODE_MISSING']],
    [
      ['x/config/plugin.yaml', 'src/a.txt'],
      ['MANIFEST_MISSING', 'CODE_MISSING'],
    ],
  ])('%j: %j', (names, expected) => {
    expect(requiredParts(names).map((f) => f.code)).toEqual(expected);
  });
});
