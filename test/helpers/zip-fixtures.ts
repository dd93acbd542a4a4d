/**
 * A tiny, deliberately permissive zip writer for crafting archives in tests,
 * including evil ones (traversal names, symlink entries, duplicates, lying
 * sizes, bombs). It is independent of src/core/package so tests do not
 * check the builder against itself.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import zlib from 'node:zlib';

export interface FixtureEntry {
  name: string | Buffer;
  data?: Buffer | string;
  /** 0 store, 8 deflate (default 8). */
  method?: number;
  /** Unix mode including the type bits (default 0o100644). */
  mode?: number;
  /** Extra general-purpose flag bits (bit 11, UTF-8, is set for string names unless utf8: false). */
  flags?: number;
  utf8?: boolean;
  /** Lie about the uncompressed size in both headers. */
  declaredSize?: number;
  /** Lie about the CRC-32. */
  crc?: number;
  extra?: Buffer;
  /** Point this entry's central record at another entry's local header (overlap bombs). */
  offsetOf?: number;
}

const MANIFEST = (name = 'demo_plugin', version = '1.0.0') => `plugin:
  name: ${name}
  version: "${version}"
  author: Test
  description: A plugin for tests
metadata:
  category: utility
  license: MIT
`;

export function manifestYaml(name?: string, version?: string): string {
  return MANIFEST(name, version);
}

export function zipBuffer(entries: FixtureEntry[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  const offsets: number[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = typeof e.name === 'string' ? Buffer.from(e.name, 'utf8') : e.name;
    const data = typeof e.data === 'string' ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0));
    const method = e.method ?? 8;
    const body = method === 8 ? zlib.deflateRawSync(data) : data;
    const crc = e.crc ?? zlib.crc32(data);
    const size = e.declaredSize ?? data.length;
    const flags = (e.flags ?? 0) | (typeof e.name === 'string' && e.utf8 !== false ? 0x800 : 0);
    const extra = e.extra ?? Buffer.alloc(0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const at = e.offsetOf !== undefined ? offsets[e.offsetOf] : offset;
    offsets.push(at);
    if (e.offsetOf === undefined) {
      parts.push(local, name, extra, body);
      offset += 30 + name.length + extra.length + body.length;
    }
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE((3 << 8) | 20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(flags, 8);
    cd.writeUInt16LE(method, 10);
    cd.writeUInt16LE(0, 12);
    cd.writeUInt16LE(0x21, 14);
    cd.writeUInt32LE(crc >>> 0, 16);
    cd.writeUInt32LE(body.length, 20);
    cd.writeUInt32LE(size, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt16LE(extra.length, 30);
    cd.writeUInt32LE((((e.mode ?? 0o100644) & 0xffff) << 16) >>> 0, 38);
    cd.writeUInt32LE(at, 42);
    central.push(cd, name, extra);
  }
  const cdBuf = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cdBuf.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cdBuf, eocd]);
}

export interface PluginZipOptions {
  name?: string;
  version?: string;
  /** Files besides the manifest (path -> content). */
  files?: Record<string, string | Buffer>;
  /** Entries added after the listing is computed (not listed). */
  unlisted?: FixtureEntry[];
  /** Change a listed file's bytes after the listing was computed. */
  tamper?: Record<string, string>;
  /** Put everything under this folder ("zip the folder" mistake). */
  prefix?: string;
  /** Leave the integrity listing out. */
  noListing?: boolean;
  /** Leave these default files out (e.g. the code: 'src/plugin.py'). */
  omit?: string[];
}

/** A well-formed plugin archive (manifest + files + integrity listing), with optional defects. */
export function pluginZip(o: PluginZipOptions = {}): Buffer {
  const files: Record<string, string | Buffer> = {
    'config/plugin.yaml': manifestYaml(o.name, o.version),
    'src/__init__.py': '',
    'src/plugin.py': 'print("hello")\n',
    ...o.files,
  };
  for (const p of o.omit ?? []) delete files[p];
  const names = Object.keys(files).sort();
  const listing = {
    format: 'plexichat-plugin-integrity/1',
    algorithm: 'sha256',
    plugin: { name: o.name ?? 'demo_plugin', version: o.version ?? '1.0.0' },
    files: names.map((p) => {
      const b = Buffer.from(files[p]);
      return { path: p, size: b.length, sha256: createHash('sha256').update(b).digest('hex') };
    }),
  };
  const pre = o.prefix ?? '';
  const entries: FixtureEntry[] = names.map((p) => ({ name: pre + p, data: o.tamper?.[p] ?? files[p] }));
  if (!o.noListing) entries.push({ name: `${pre}plexichat-integrity.json`, data: JSON.stringify(listing, null, 2) });
  entries.push(...(o.unlisted ?? []));
  return zipBuffer(entries);
}

export async function writeZip(file: string, data: Buffer): Promise<string> {
  await fs.writeFile(file, data);
  return file;
}
