import { execa } from 'execa';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildArchive, type PackedFacts } from '../../../src/core/package/build.js';
import { pack, type PackFile } from '../../../src/core/package/pack.js';
import { verifyArchive } from '../../../src/core/package/verify.js';
import { tempDir } from '../../helpers/temp-project.js';
import { manifestYaml } from '../../helpers/zip-fixtures.js';

async function packToFile(dir: string, files: Record<string, Buffer | string>, opts: { forceZip64?: boolean; concurrency?: number; out?: string } = {}) {
  const list: PackFile[] = [];
  for (const [name, data] of Object.entries(files)) {
    const abs = path.join(dir, 'src-tree', name);
    await fs.mkdir(path.dirname(abs), { recursive: true });
    await fs.writeFile(abs, data);
    list.push({ path: name, abs, size: Buffer.byteLength(data), mode: 0o644 });
  }
  const chunks: Buffer[] = [];
  const result = await pack({
    files: list,
    plugin: { name: 'demo_plugin', version: '1.0.0' },
    sink: (c) => {
      chunks.push(Buffer.from(c));
    },
    forceZip64: opts.forceZip64,
    concurrency: opts.concurrency,
  });
  const out = path.join(dir, opts.out ?? 'out.zip');
  await fs.writeFile(out, Buffer.concat(chunks));
  return { out, result };
}

/** Python's zipfile: name -> [sha256, compress_type], after testzip(). */
async function pythonRead(file: string): Promise<Record<string, [string, number]>> {
  const code =
    'import hashlib, json, sys, zipfile\n' +
    'z = zipfile.ZipFile(sys.argv[1])\n' +
    'assert z.testzip() is None\n' +
    'print(json.dumps({i.filename: [hashlib.sha256(z.read(i)).hexdigest(), i.compress_type] for i in z.infolist()}))\n';
  return JSON.parse((await execa('python3', ['-c', code, file])).stdout);
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function text(bytes: number): string {
  let s = '';
  for (let i = 0; s.length < bytes; i++) s += `def handler_${i}(event, value_${i % 97}):\n    return value_${i % 13} * ${i}\n\n`;
  return s.slice(0, bytes);
}

describe('pack', () => {
  it('deflates a large compressible file in independent chunks that readers join correctly', async () => {
    const dir = await tempDir();
    const big = text(3 * 1024 * 1024 + 12345);
    const files = {
      'config/plugin.yaml': manifestYaml(),
      'src/big.py': big,
      'src/random.bin': randomBytes(2 * 1024 * 1024 + 7),
      'src/image.png': randomBytes(1000),
      'src/empty.py': '',
      'src/small.py': 'x = 1\n',
    };
    const { out, result } = await packToFile(dir, files);
    const seen = await pythonRead(out);
    for (const [name, data] of Object.entries(files)) expect(seen[name]?.[0]).toBe(sha(data));
    expect(seen['src/big.py']?.[1]).toBe(8); // deflated
    expect(seen['src/random.bin']?.[1]).toBe(0); // stored: does not compress
    expect(seen['src/image.png']?.[1]).toBe(0); // stored by extension
    expect((await fs.stat(out)).size).toBeLessThan(2 * 1024 * 1024 + 3 * 1024 * 1024 * 0.5);
    expect(result.integrity.find((f) => f.path === 'src/big.py')?.sha256).toBe(sha(big));
    const unzip = await execa('unzip', ['-t', out], { reject: false });
    expect(unzip.exitCode).toBe(0);
    const report = await verifyArchive(out);
    expect(report.findings).toEqual([]);
  });

  it('writes Zip64 records that zipfile, unzip and yauzl read', async () => {
    const dir = await tempDir();
    const files = { 'config/plugin.yaml': manifestYaml(), 'src/big.py': text(1536 * 1024), 'src/a.py': 'a = 1\n' };
    const { out } = await packToFile(dir, files, { forceZip64: true });
    const seen = await pythonRead(out);
    for (const [name, data] of Object.entries(files)) expect(seen[name]?.[0]).toBe(sha(data));
    expect((await execa('unzip', ['-t', out], { reject: false })).exitCode).toBe(0);
    expect((await verifyArchive(out)).findings).toEqual([]);
  });

  it('reports every secret with its line, also across chunk boundaries, and writes nothing after the first', async () => {
    const dir = await tempDir();
    const padding = text(CHUNK_EDGE);
    const files = {
      'config/plugin.yaml': manifestYaml(),
      // The key straddles the 1 MiB chunk boundary.
      'src/big.py': `${padding.slice(0, padding.length - 10)}\nK = "AKIAABCDEFGHIJKLMNOP"\n${text(5000)}`,
      'src/b.py': `\n\nSLACK = "xoxb-1234567890-abcdefghij"\n`,
    };
    const { result } = await packToFile(dir, files);
    const lines = padding.slice(0, padding.length - 10).split('\n').length + 1;
    expect(result.secrets).toEqual([
      { file: 'src/b.py', line: 3, rule: 'slack-token', description: 'Slack token' },
      { file: 'src/big.py', line: lines, rule: 'aws-access-key', description: 'AWS access key id' },
    ]);
  });
});

const CHUNK_EDGE = 1024 * 1024;

/** Python's zipfile: every member's header facts and sha256, in archive order. */
async function pythonFacts(
  file: string,
): Promise<{ path: string; size: number; crc32: number; compressedSize: number; method: number; mode: number; offset: number; sha256: string }[]> {
  const code =
    'import hashlib, json, sys, zipfile\n' +
    'z = zipfile.ZipFile(sys.argv[1])\n' +
    'print(json.dumps([dict(path=i.filename, size=i.file_size, crc32=i.CRC, compressedSize=i.compress_size, method=i.compress_type,' +
    ' mode=(i.external_attr >> 16) & 0o777, offset=i.header_offset, sha256=hashlib.sha256(z.read(i)).hexdigest()) for i in z.infolist()]))\n';
  return JSON.parse((await execa('python3', ['-c', code, file])).stdout);
}

describe('pack: what the writer knows', () => {
  it('returns every member as a reader sees it, the listing and the manifest bytes, and the same archive bytes whatever the concurrency', async () => {
    const dir = await tempDir();
    const files = {
      'config/plugin.yaml': manifestYaml(),
      'src/big.py': text(2 * 1024 * 1024 + 999),
      'src/random.bin': randomBytes(1024 * 1024 + 3),
      'src/image.png': randomBytes(500),
      'src/empty.py': '',
      'src/small.py': 'x = 1\n',
    };
    const one = await packToFile(dir, files, { concurrency: 1, out: 'one.zip' });
    const many = await packToFile(dir, files, { concurrency: 6, out: 'many.zip' });
    const bytes = await fs.readFile(one.out);
    expect((await fs.readFile(many.out)).equals(bytes)).toBe(true);
    expect(many.result.written).toEqual(one.result.written);

    const written = one.result.written!;
    expect(written.members).toEqual(await pythonFacts(one.out));
    expect(written.members.map((m) => m.path).at(-1)).toBe('plexichat-integrity.json');
    expect(one.result.entries).toBe(written.members.length);
    expect(written.manifestBytes?.toString('utf8')).toBe(manifestYaml());
    const seen = await pythonRead(one.out);
    expect(sha(written.listingBytes)).toBe(seen['plexichat-integrity.json']?.[0]);
  });

  it('returns no member facts for a dry run (nothing written)', async () => {
    const dir = await tempDir();
    const abs = path.join(dir, 'a.py');
    await fs.writeFile(abs, 'a = 1\n');
    const r = await pack({ files: [{ path: 'src/a.py', abs, size: 6, mode: 0o644 }], plugin: { name: 'demo_plugin', version: '1.0.0' } });
    expect(r.written).toBeUndefined();
    expect(r.bytesIn).toBe(6);
  });

  it('buildArchive hands the facts to beforeCommit (archive sha256 and size as on disk) and returns them', async () => {
    const dir = await tempDir({ config: { 'plugin.yaml': manifestYaml() }, src: { 'plugin.py': 'x = 1\n', 'big.py': text(1536 * 1024) } });
    const outDir = path.join(dir, 'dist');
    await fs.mkdir(outDir);
    let seen: { temp: Buffer; facts: PackedFacts } | undefined;
    const r = await buildArchive({
      projectDir: dir,
      outDir,
      plugin: { name: 'demo_plugin', version: '1.0.0' },
      beforeCommit: async (tempPath, facts) => {
        seen = { temp: await fs.readFile(tempPath), facts };
      },
    });
    const a = r.archive!;
    const bytes = await fs.readFile(a.path);
    expect(seen!.temp.equals(bytes)).toBe(true);
    expect(seen!.facts.sha256).toBe(sha(bytes));
    expect(seen!.facts.size).toBe(bytes.length);
    expect(seen!.facts.integrity.map((f) => f.path)).toEqual(seen!.facts.members.slice(0, -1).map((m) => m.path));
    expect(a).toMatchObject({ sha256: seen!.facts.sha256, size: bytes.length, members: seen!.facts.members, contentsSha256: sha(seen!.facts.listingBytes) });
    expect(a.members).toEqual(await pythonFacts(a.path));
    expect(seen!.facts.manifestBytes?.toString('utf8')).toBe(manifestYaml());
  });
});
