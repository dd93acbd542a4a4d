import { execa } from 'execa';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pack, type PackFile } from '../../../src/core/package/pack.js';
import { verifyArchive } from '../../../src/core/package/verify.js';
import { tempDir } from '../../helpers/temp-project.js';
import { manifestYaml } from '../../helpers/zip-fixtures.js';

async function packToFile(dir: string, files: Record<string, Buffer | string>, opts: { forceZip64?: boolean } = {}) {
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
  });
  const out = path.join(dir, 'out.zip');
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
