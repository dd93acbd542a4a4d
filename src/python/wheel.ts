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
import { DEFLATE, ZipWriter } from '../core/package/zip-writer.js';
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

/** sha256 over the SDK's files (names and bytes): changes whenever the wheel's content would, version or not. */
export async function sdkDigest(root = sdkPythonPath()): Promise<string> {
  const h = createHash('sha256');
  for (const rel of await packageFiles(root)) {
    const bytes = await fs.readFile(path.join(root, rel));
    h.update(`${rel}\0${bytes.length}\0`).update(bytes);
  }
  return h.digest('hex');
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
    bytes: await zip(entries, opts.mtime),
    files: entries.map(([n]) => n),
  };
}

/** A small deflated zip, entries in the order given, through the archive writer build uses (core/package/zip-writer.ts). */
async function zip(entries: [string, Buffer][], mtime?: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const writer = new ZipWriter((chunk) => void chunks.push(chunk), { mtime });
  for (const [name, data] of entries) {
    await writer.addEntry(name, 0o644, DEFLATE, zlib.crc32(data), data.length, zlib.deflateRawSync(data, { level: 9 }));
  }
  await writer.finish();
  return Buffer.concat(chunks);
}
