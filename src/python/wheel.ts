/**
 * The bundled Python SDK as a standard wheel (PEP 427), written without the
 * network or any Python build tool: the package's files under sdk/python,
 * plus a .dist-info with METADATA (PyYAML its one dependency, what a bare
 * pytest reads config/plugin.yaml with), WHEEL and RECORD (sha256 of every
 * file). The bytes depend only on the SDK's files and version: every entry
 * carries the same timestamp (1980-01-01, or SOURCE_DATE_EPOCH) and entries
 * are in name order, so two builds of one SDK are identical.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { sdkPythonPath } from './pytest.js';
import { MIN_PYTHON_TEXT } from './version.js';

export const SDK_PACKAGE = 'plexichat_plugin_sdk';
export const SDK_DIST_NAME = 'plexichat-plugin-sdk';
/** The SDK wheel's dependencies (PEP 508), each a Requires-Dist line. */
export const SDK_REQUIRES = ['PyYAML>=5.1'];

export interface Wheel {
  /** The file name: plexichat_plugin_sdk-<version>-py3-none-any.whl. */
  name: string;
  version: string;
  bytes: Buffer;
  /** Entries, .dist-info included. */
  files: string[];
}

/** The SDK's version, as its __init__.py says (`__version__ = "X.Y.Z"`). */
export async function sdkVersion(root = sdkPythonPath()): Promise<string> {
  const init = await fs.readFile(path.join(root, SDK_PACKAGE, '__init__.py'), 'utf8');
  const m = /^__version__\s*=\s*["']([^"']+)["']/m.exec(init);
  if (!m) throw new Error(`${SDK_PACKAGE}/__init__.py has no __version__`);
  return m[1];
}

/** The package's files (relative, forward slashes), without bytecode caches. */
async function packageFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const e of await fs.readdir(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (e.name !== '__pycache__') await walk(r);
      } else if (e.isFile() && !/\.py[co]$/.test(e.name)) out.push(r);
    }
  };
  await walk(SDK_PACKAGE);
  return out.sort();
}

function metadata(version: string): string {
  return [
    'Metadata-Version: 2.1',
    `Name: ${SDK_DIST_NAME}`,
    `Version: ${version}`,
    'Summary: The PlexiChat plugin SDK: the Plugin base class, hooks, endpoints and the pytest fixtures, shipped with plexichat-plugin-cli',
    'License: MIT',
    `Requires-Python: >=${MIN_PYTHON_TEXT}`,
    ...SDK_REQUIRES.map((r) => `Requires-Dist: ${r}`),
    '',
    `Run a plugin's tests with \`plexichat-plugin test\`; with this wheel installed a bare \`pytest\` runs them too.`,
    '',
  ].join('\n');
}

function wheelFile(generator: string): string {
  return ['Wheel-Version: 1.0', `Generator: ${generator}`, 'Root-Is-Purelib: true', 'Tag: py3-none-any', ''].join('\n');
}

/** RECORD's hash form: sha256=<urlsafe base64, no padding>. */
function recordHash(bytes: Buffer): string {
  return `sha256=${createHash('sha256').update(bytes).digest('base64url')}`;
}

/** The wheel of the SDK under root (default: the bundled one). */
export async function buildSdkWheel(opts: { generator: string; root?: string; mtime?: number }): Promise<Wheel> {
  const root = opts.root ?? sdkPythonPath();
  const version = await sdkVersion(root);
  const distInfo = `${SDK_PACKAGE}-${version}.dist-info`;
  const entries: [string, Buffer][] = [];
  for (const rel of await packageFiles(root)) entries.push([rel, await fs.readFile(path.join(root, rel))]);
  entries.push([`${distInfo}/METADATA`, Buffer.from(metadata(version))]);
  entries.push([`${distInfo}/WHEEL`, Buffer.from(wheelFile(opts.generator))]);
  entries.push([`${distInfo}/top_level.txt`, Buffer.from(`${SDK_PACKAGE}\n`)]);
  const record = entries.map(([name, bytes]) => `${name},${recordHash(bytes)},${bytes.length}`);
  entries.push([`${distInfo}/RECORD`, Buffer.from([...record, `${distInfo}/RECORD,,`, ''].join('\n'))]);
  return {
    name: `${SDK_PACKAGE}-${version}-py3-none-any.whl`,
    version,
    bytes: zip(entries, opts.mtime),
    files: entries.map(([n]) => n),
  };
}

/** DOS date and time of Unix seconds (UTC), clamped to the zip format's 1980 floor. */
function dosTime(unix: number | undefined): { date: number; time: number } {
  const d = new Date(Math.max(unix ?? 0, 315532800) * 1000);
  return {
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
  };
}

/** A small deflated zip, entries in the order given (files of a few hundred KiB: no zip64). */
function zip(entries: [string, Buffer][], mtime?: number): Buffer {
  const { date, time } = dosTime(mtime);
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const body = zlib.deflateRawSync(data, { level: 9 });
    const crc = zlib.crc32(data);
    const head = Buffer.alloc(30);
    head.writeUInt32LE(0x04034b50, 0);
    head.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
    head.writeUInt16LE(0x0800, 6); // UTF-8 names
    head.writeUInt16LE(8, 8); // deflate
    head.writeUInt16LE(time, 10);
    head.writeUInt16LE(date, 12);
    head.writeUInt32LE(crc, 14);
    head.writeUInt32LE(body.length, 18);
    head.writeUInt32LE(data.length, 22);
    head.writeUInt16LE(nameBytes.length, 26);
    head.writeUInt16LE(0, 28);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, 2.0
    dir.writeUInt16LE(20, 6);
    dir.writeUInt16LE(0x0800, 8);
    dir.writeUInt16LE(8, 10);
    dir.writeUInt16LE(time, 12);
    dir.writeUInt16LE(date, 14);
    dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(body.length, 20);
    dir.writeUInt32LE(data.length, 24);
    dir.writeUInt16LE(nameBytes.length, 28);
    dir.writeUInt32LE((0o100644 << 16) >>> 0, 38); // regular file, rw-r--r--
    dir.writeUInt32LE(offset, 42);
    locals.push(head, nameBytes, body);
    central.push(dir, nameBytes);
    offset += head.length + nameBytes.length + body.length;
  }
  const dirBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(dirBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dirBytes, end]);
}
