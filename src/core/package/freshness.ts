/**
 * Is an archive still what its project's sources would pack? The archive's
 * integrity listing records every member the writer packed (path, size,
 * sha256); the project's file list (file-list.ts, the same rules build
 * applies) says what would be packed now. A file added, removed or changed
 * since makes the archive stale: `marketplace prepare` and `submit` refuse
 * it (STALE_ARCHIVE), so a listing never describes other files than the
 * ones uploaded.
 *
 * Cheap first: paths and sizes come from the listing and the walk (no
 * read); a file added, removed or of another size answers at once. Only
 * files of the same size are hashed, except those the last build read at
 * the stamp they still have (source-record.ts: size, times, inode; the
 * change time moves on any copy, restore or edit). The archive's own
 * timestamp is never trusted: a copied or restored archive is newer than
 * the edit it misses.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { constants } from 'node:fs';
import yauzl from 'yauzl';
import { WHEEL_INDEX_PATH, WHEELS_DIR } from './wheels.js';
import { INTEGRITY_PATH, MAX_INTEGRITY_BYTES, parseIntegrity, type IntegrityListing } from './integrity.js';
import { showName } from './names.js';
import type { PackFile } from './pack.js';
import type { SourceRecord } from './source-record.js';
import { count } from '../../io/counters.js';

export interface Staleness {
  added: string[];
  removed: string[];
  changed: string[];
}

/**
 * The integrity listing of an archive, read from its central directory and
 * its one member (never the others); undefined when the archive has none or
 * it cannot be read (verify's checks then refuse the archive with the reason).
 */
export async function readIntegrityListing(file: string): Promise<IntegrityListing | undefined> {
  let zip: yauzl.ZipFile | undefined;
  try {
    zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false, decodeStrings: true, validateEntrySizes: true });
    const z = zip;
    const entry = await new Promise<yauzl.Entry | undefined>((resolve, reject) => {
      z.on('entry', (e: yauzl.Entry) => (e.fileName === INTEGRITY_PATH ? resolve(e) : z.readEntry()));
      z.on('end', () => resolve(undefined));
      z.on('error', reject);
      z.readEntry();
    });
    if (!entry || entry.uncompressedSize > MAX_INTEGRITY_BYTES) return undefined;
    const stream = await z.openReadStreamPromise(entry);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return parseIntegrity(Buffer.concat(chunks));
  } catch {
    return undefined;
  } finally {
    zip?.close();
  }
}

/**
 * What differs between the listing's members and the files that would be
 * packed now (the listing itself is not a project file).
 */
export async function compareWithSources(all: IntegrityListing['files'], files: readonly PackFile[], known: SourceRecord = new Map()): Promise<Staleness> {
  // The wheels build --wheels packed are not project files (verify checks them against the lock).
  const generated = all.some((f) => f.path === WHEEL_INDEX_PATH);
  const listed = generated ? all.filter((f) => !f.path.startsWith(`${WHEELS_DIR}/`)) : all;
  const byPath = new Map(listed.map((f) => [f.path, f]));
  const out: Staleness = { added: [], removed: [], changed: [] };
  const toHash: { file: PackFile; sha256: string }[] = [];
  const current = new Set<string>();
  for (const f of files) {
    current.add(f.path);
    const was = byPath.get(f.path);
    if (!was) out.added.push(f.path);
    else if (was.size !== f.size) out.changed.push(f.path);
    else if (!sameAsBuilt(f, was.sha256, known)) toHash.push({ file: f, sha256: was.sha256 });
  }
  for (const f of listed) if (!current.has(f.path)) out.removed.push(f.path);
  // Sizes already tell: no file is read.
  if (out.added.length + out.removed.length + out.changed.length > 0) return out;
  // A few at a time: reads overlap with hashing, memory stays small.
  let next = 0;
  const worker = async () => {
    while (next < toHash.length) {
      const h = toHash[next++];
      count('source.hash');
      if ((await sha256Of(h.file.abs)) !== h.sha256) out.changed.push(h.file.path);
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, toHash.length) }, worker));
  out.changed.sort();
  return out;
}

/** The last build read this file's bytes, with the listed digest, at the stamp it has now (source-record.ts): no need to read it again. */
function sameAsBuilt(f: PackFile, sha256: string, known: SourceRecord): boolean {
  const k = known.get(f.path);
  return k !== undefined && f.stamp !== undefined && k.stamp === f.stamp && k.sha256 === sha256;
}

export function isStale(s: Staleness): boolean {
  return s.added.length + s.removed.length + s.changed.length > 0;
}

/** One phrase: "CHANGELOG.md changed, config/monitoring.yaml added, src/old.py removed" (at most `max` names each). */
export function describeStaleness(s: Staleness, max = 3): string {
  const part = (what: string, names: string[]) =>
    names.length === 0 ? [] : [`${names.slice(0, max).map(showName).join(', ')}${names.length > max ? ` and ${names.length - max} more` : ''} ${what}`];
  return [...part('changed', s.changed), ...part('added', s.added), ...part('removed', s.removed)].join(', ');
}

/** sha256 of a regular file (a FIFO or device is never opened for reading: it counts as changed). */
async function sha256Of(file: string): Promise<string | undefined> {
  let h: fs.FileHandle;
  try {
    h = await fs.open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch {
    return undefined;
  }
  try {
    if (!(await h.stat()).isFile()) return undefined;
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(1024 * 1024);
    for (;;) {
      const { bytesRead } = await h.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
    }
    return hash.digest('hex');
  } catch {
    return undefined;
  } finally {
    await h.close();
  }
}
