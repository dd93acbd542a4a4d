/**
 * Check a plugin archive the way the marketplace does. Used by the `verify`
 * command and by the development marketplace on every upload, so it has no
 * CLI or process dependencies: it takes a path and returns findings.
 *
 * Reading goes through yauzl's central directory (never a streaming unzip):
 * the central directory is checked first (count, names, types, declared
 * sizes, ratios, overlaps), then every member is streamed once with
 * yauzl's size validation on, counting real bytes, checking CRC-32 and
 * hashing it for the integrity listing. Nothing is extracted to disk and
 * nothing is allocated from a declared size.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { MANIFEST_PATH, MAX_MANIFEST_BYTES, type Manifest } from '../manifest/types.js';
import { parseManifest } from '../manifest/index.js';
import { INTEGRITY_PATH, MAX_INTEGRITY_BYTES, parseIntegrity, type IntegrityListing } from './integrity.js';
import { VERIFY_DEFAULTS } from './limits.js';
import { checkEntryName, showName, twinKey } from './names.js';

export interface VerifyOptions {
  /** Largest archive file accepted (default 512 MiB). */
  maxArchiveBytes?: number;
  /** Most entries accepted (default 10,000). */
  maxEntries?: number;
  /** Largest total uncompressed size (default 1 GiB). */
  maxUncompressedBytes?: number;
  /** Largest uncompressed/compressed ratio of one entry over 1 MiB (default 100). */
  maxRatio?: number;
  /** The archive must hold this plugin name and/or version. */
  expect?: { name?: string; version?: string };
}

export interface VerifyFinding {
  severity: 'error' | 'warning';
  code: string;
  message: string;
  entry?: string;
}

export interface VerifyReport {
  ok: boolean;
  findings: VerifyFinding[];
  manifest?: Manifest;
  /** Entries in the central directory (files and folders). */
  entries: number;
  /** Sum of the declared uncompressed sizes. */
  uncompressedBytes: number;
}

export { VERIFY_DEFAULTS };

/** Entries smaller than this are never reported for their ratio (small text compresses well). */
const RATIO_FLOOR = 1024 * 1024;
/** Findings beyond this are summarized, so a hostile archive cannot flood the report. */
const MAX_FINDINGS = 200;

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

interface Checked {
  entry: Entry;
  name: string;
  dir: boolean;
  readable: boolean;
}

export async function verifyArchive(file: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const limits = { ...VERIFY_DEFAULTS, ...definedOnly(opts) };
  const findings: VerifyFinding[] = [];
  let dropped = 0;
  const add = (severity: VerifyFinding['severity'], code: string, message: string, entry?: string) => {
    if (findings.length >= MAX_FINDINGS) {
      dropped += 1;
      return;
    }
    findings.push(entry === undefined ? { severity, code, message } : { severity, code, message, entry });
  };
  const report = (extra: Partial<VerifyReport> = {}): VerifyReport => {
    if (dropped > 0) {
      findings.push({ severity: 'error', code: 'TOO_MANY_FINDINGS', message: `${dropped} more findings not shown` });
    }
    return {
      ok: !findings.some((f) => f.severity === 'error'),
      findings,
      entries: 0,
      uncompressedBytes: 0,
      ...extra,
    };
  };

  let size: number;
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) {
      add('error', 'NOT_A_FILE', `${file} is not a regular file`);
      return report();
    }
    size = st.size;
  } catch (err) {
    add('error', 'CANNOT_READ', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return report();
  }
  if (size === 0) {
    add('error', 'BAD_ZIPFILE', 'the archive is empty (0 bytes)');
    return report();
  }
  if (size > limits.maxArchiveBytes) {
    add('error', 'ARCHIVE_TOO_LARGE', `the archive is ${size} bytes, over the limit of ${limits.maxArchiveBytes}`);
    return report();
  }

  let zip: ZipFile;
  try {
    zip = await yauzl.openPromise(file, {
      lazyEntries: true,
      autoClose: false,
      decodeStrings: false,
      validateEntrySizes: true,
    });
  } catch (err) {
    add('error', 'BAD_ZIPFILE', `not a readable zip archive: ${(err as Error).message}`);
    return report();
  }

  try {
    if (zip.entryCount > limits.maxEntries) {
      add('error', 'TOO_MANY_ENTRIES', `the archive has ${zip.entryCount} entries, over the limit of ${limits.maxEntries}`);
      return report({ entries: zip.entryCount });
    }

    // 1. The central directory.
    const checked: Checked[] = [];
    try {
      for await (const entry of zip.eachEntry()) checked.push(checkEntry(entry, add));
    } catch (err) {
      add('error', 'BAD_ZIPFILE', `corrupt central directory: ${(err as Error).message}`);
      return report({ entries: checked.length });
    }
    const declared = checked.reduce((n, c) => n + c.entry.uncompressedSize, 0);
    const base = { entries: checked.length, uncompressedBytes: declared };

    checkTwins(checked, add);
    checkOverlaps(checked, size, add);
    if (declared > limits.maxUncompressedBytes) {
      add(
        'error',
        'ZIP_BOMB_SIZE',
        `the archive expands to ${declared} bytes, over the limit of ${limits.maxUncompressedBytes}`,
      );
    }
    for (const c of checked) {
      const { compressedSize, uncompressedSize } = c.entry;
      if (uncompressedSize > RATIO_FLOOR && uncompressedSize > limits.maxRatio * Math.max(compressedSize, 1)) {
        add(
          'error',
          'ZIP_BOMB_RATIO',
          `expands ${Math.round(uncompressedSize / Math.max(compressedSize, 1))}x, over the limit of ${limits.maxRatio}x`,
          c.name,
        );
        c.readable = false;
      }
    }
    if (findings.some((f) => f.code === 'ZIP_BOMB_SIZE' || f.code === 'BAD_ZIPFILE')) return report(base);

    // 2. The manifest must be at the root.
    const names = new Map(checked.filter((c) => !c.dir).map((c) => [c.name, c]));
    const manifestEntry = names.get(MANIFEST_PATH);
    if (!manifestEntry) {
      const nested = checked.find((c) => c.name.endsWith(`/${MANIFEST_PATH}`));
      if (nested) {
        add(
          'error',
          'MANIFEST_NOT_AT_ROOT',
          `the manifest is at ${showName(nested.name)}, not ${MANIFEST_PATH}: zip the contents, not the folder`,
          nested.name,
        );
      } else {
        add('error', 'MANIFEST_MISSING', `the archive has no ${MANIFEST_PATH}`);
      }
    } else if (manifestEntry.entry.uncompressedSize > MAX_MANIFEST_BYTES) {
      add('error', 'MANIFEST_TOO_LARGE', `${MANIFEST_PATH} is over ${MAX_MANIFEST_BYTES} bytes`, MANIFEST_PATH);
      manifestEntry.readable = false;
    }
    const listingEntry = names.get(INTEGRITY_PATH);
    if (!listingEntry) {
      add('error', 'INTEGRITY_MISSING', `the archive has no ${INTEGRITY_PATH}; build it with \`plexichat-plugin build\``);
    } else if (listingEntry.entry.uncompressedSize > MAX_INTEGRITY_BYTES) {
      add('error', 'INTEGRITY_TOO_LARGE', `${INTEGRITY_PATH} is over ${MAX_INTEGRITY_BYTES} bytes`, INTEGRITY_PATH);
      listingEntry.readable = false;
    }

    // 3. Every member's bytes: real sizes, CRC-32, sha256.
    const hashes = new Map<string, { size: number; sha256: string }>();
    let manifestBytes: Buffer | undefined;
    let listingBytes: Buffer | undefined;
    let actualTotal = 0;
    for (const c of checked) {
      if (!c.readable || c.dir) continue;
      const keep = c === manifestEntry || c === listingEntry;
      try {
        const r = await readMember(zip, c.entry, keep, limits.maxUncompressedBytes - actualTotal);
        actualTotal += r.size;
        if (r.crc !== c.entry.crc32) {
          add('error', 'BAD_CRC', 'CRC-32 does not match the data (corrupt or tampered)', c.name);
        }
        hashes.set(c.name, { size: r.size, sha256: r.sha256 });
        if (c === manifestEntry) manifestBytes = r.data;
        if (c === listingEntry) listingBytes = r.data;
      } catch (err) {
        const msg = (err as Error).message;
        if (/too many|too few|expected \d+|uncompressedSize|actual/i.test(msg) && !/total/.test(msg)) {
          add('error', 'SIZE_MISMATCH', `declared size does not match the data: ${msg}`, c.name);
        } else if (/over the total limit/.test(msg)) {
          add('error', 'ZIP_BOMB_SIZE', msg, c.name);
          break;
        } else {
          add('error', 'BAD_ENTRY', `cannot read the entry: ${msg}`, c.name);
        }
      }
    }

    // 4. The manifest parses and passes the manifest rules.
    let manifest: Manifest | undefined;
    if (manifestBytes) {
      const parsed = parseManifest(manifestBytes, MANIFEST_PATH);
      for (const d of parsed.diagnostics) {
        const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
        add(d.severity, d.code, `${where} ${d.message}${d.hint ? ` (${d.hint})` : ''}`, MANIFEST_PATH);
      }
      manifest = parsed.manifest;
      if (manifest && opts.expect?.name !== undefined && manifest.plugin.name !== opts.expect.name) {
        add(
          'error',
          'NAME_MISMATCH',
          `the archive holds plugin "${manifest.plugin.name}", expected "${opts.expect.name}"`,
          MANIFEST_PATH,
        );
      }
      if (manifest && opts.expect?.version !== undefined && manifest.plugin.version !== opts.expect.version) {
        add(
          'error',
          'VERSION_MISMATCH',
          `the archive holds version ${manifest.plugin.version}, expected ${opts.expect.version}`,
          MANIFEST_PATH,
        );
      }
    }

    // 5. Every member against the integrity listing, and the listing against the members.
    if (listingBytes) {
      let listing: IntegrityListing | undefined;
      try {
        listing = parseIntegrity(listingBytes);
      } catch (err) {
        add('error', 'INTEGRITY_MALFORMED', `${INTEGRITY_PATH}: ${(err as Error).message}`, INTEGRITY_PATH);
      }
      if (listing) {
        const listed = new Map(listing.files.map((f) => [f.path, f]));
        for (const c of checked) {
          // Entries already refused for their name or type are not reported twice.
          if (c.dir || c === listingEntry || !c.readable) continue;
          const rec = listed.get(c.name);
          if (!rec) {
            add('error', 'INTEGRITY_UNLISTED', `not in ${INTEGRITY_PATH}`, c.name);
            continue;
          }
          const h = hashes.get(c.name);
          if (h && (h.size !== rec.size || h.sha256 !== rec.sha256)) {
            add(
              'error',
              'INTEGRITY_MISMATCH',
              h.size !== rec.size
                ? `size ${h.size} differs from the listed ${rec.size} (tampered?)`
                : 'sha256 differs from the listed one (tampered?)',
              c.name,
            );
          }
        }
        for (const rec of listing.files) {
          if (!names.has(rec.path)) add('error', 'INTEGRITY_MISSING_ENTRY', `listed in ${INTEGRITY_PATH} but not in the archive`, rec.path);
        }
        if (manifest && (listing.plugin?.name !== manifest.plugin.name || listing.plugin?.version !== manifest.plugin.version)) {
          add('error', 'INTEGRITY_PLUGIN_MISMATCH', `${INTEGRITY_PATH} names a different plugin or version than the manifest`, INTEGRITY_PATH);
        }
      }
    }

    return report({ ...base, manifest });
  } finally {
    zip.close();
  }
}

function definedOnly(o: VerifyOptions): Partial<typeof VERIFY_DEFAULTS> {
  const r: Record<string, number> = {};
  for (const k of ['maxArchiveBytes', 'maxEntries', 'maxUncompressedBytes', 'maxRatio'] as const) {
    const v = o[k];
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) r[k] = v;
  }
  return r;
}

type Add = (severity: VerifyFinding['severity'], code: string, message: string, entry?: string) => void;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decode a raw name: UTF-8 when flag bit 11 says so, otherwise only plain ASCII is accepted. */
function decodeName(entry: Entry): { name: string; problem?: string } {
  const raw = entry.fileNameRaw;
  const ascii = raw.every((b) => b < 0x80);
  let name: string;
  if (entry.generalPurposeBitFlag & 0x800) {
    try {
      name = utf8.decode(raw);
    } catch {
      return { name: raw.toString('latin1'), problem: 'is not valid UTF-8 although flag bit 11 says so' };
    }
  } else if (ascii) {
    name = raw.toString('latin1');
  } else {
    return { name: raw.toString('latin1'), problem: 'has non-ASCII bytes without the UTF-8 flag (bit 11)' };
  }
  // Info-ZIP Unicode Path extra field: readers that honour it would see another name.
  const up = entry.extraFields.find((f) => f.id === 0x7075);
  if (up) {
    const other = up.data.length > 5 ? up.data.subarray(5).toString('utf8') : '';
    if (other !== name) return { name, problem: `has a Unicode Path extra field naming ${showName(other)} instead` };
  }
  return { name };
}

function checkEntry(entry: Entry, add: Add): Checked {
  const decoded = decodeName(entry);
  const name = decoded.name;
  const c: Checked = { entry, name, dir: name.endsWith('/'), readable: true };
  if (decoded.problem) {
    add('error', 'NAME_ENCODING', `entry name ${decoded.problem}`, name);
    c.readable = false;
  }
  const problem = checkEntryName(name);
  if (problem) {
    add('error', problem.code, `unsafe entry name: ${problem.message}`, name);
    c.readable = false;
  } else if (name.normalize('NFC') !== name) {
    add('warning', 'NAME_NOT_NFC', 'entry name is not in Unicode NFC form', name);
  }

  const madeBy = entry.versionMadeBy >> 8;
  const unixMode = entry.externalFileAttributes >>> 16;
  const type = unixMode & S_IFMT;
  if (type === S_IFLNK) {
    add('error', 'SYMLINK_ENTRY', 'symbolic link entries are not allowed', name);
    c.readable = false;
  } else if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) {
    add('error', 'SPECIAL_ENTRY', 'device, FIFO or socket entries are not allowed', name);
    c.readable = false;
  } else if ((madeBy === 3 || madeBy === 19) && unixMode & 0o7002) {
    add('warning', 'UNSAFE_MODE', `mode ${(unixMode & 0o7777).toString(8)} has setuid, setgid, sticky or world-writable bits`, name);
  }
  if (c.dir && (entry.uncompressedSize !== 0 || entry.compressedSize > 2)) {
    add('error', 'BAD_ENTRY', 'folder entry with data', name);
    c.readable = false;
  }
  if (entry.isEncrypted()) {
    add('error', 'ENCRYPTED_ENTRY', 'encrypted entries are not allowed', name);
    c.readable = false;
  } else if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
    add('error', 'UNSUPPORTED_COMPRESSION', `compression method ${entry.compressionMethod} is not supported (use deflate or store)`, name);
    c.readable = false;
  }
  return c;
}

function checkTwins(checked: Checked[], add: Add): void {
  const seen = new Map<string, string>();
  const exact = new Set<string>();
  const files = new Set<string>();
  for (const c of checked) {
    const key = twinKey(c.name.replace(/\/$/, ''));
    const prev = seen.get(key);
    if (prev !== undefined) {
      if (exact.has(c.name)) add('error', 'DUPLICATE_ENTRY', 'the name appears more than once', c.name);
      else add('error', 'DUPLICATE_ENTRY', `differs from ${showName(prev)} only in case or Unicode normalization`, c.name);
      c.readable = false;
    } else {
      seen.set(key, c.name);
    }
    exact.add(c.name);
    if (!c.dir) files.add(key);
  }
  // A file that is also used as a folder ("a" and "a/b").
  for (const c of checked) {
    const parts = twinKey(c.name).replace(/\/$/, '').split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (files.has(parent)) {
        add('error', 'PATH_CONFLICT', `a parent folder is also stored as a file`, c.name);
        break;
      }
    }
  }
}

/** Members whose data overlaps another's (the overlapping-file zip bomb), or that point past the central directory. */
function checkOverlaps(checked: Checked[], archiveSize: number, add: Add): void {
  const byOffset = [...checked].sort((a, b) => a.entry.relativeOffsetOfLocalHeader - b.entry.relativeOffsetOfLocalHeader);
  for (let i = 0; i < byOffset.length; i++) {
    const c = byOffset[i]!;
    // A local header is at least 30 bytes plus the name.
    const end = c.entry.relativeOffsetOfLocalHeader + 30 + c.entry.fileNameLength + c.entry.compressedSize;
    const next = byOffset[i + 1];
    const limit = next ? next.entry.relativeOffsetOfLocalHeader : archiveSize;
    if (end > limit) {
      add('error', 'OVERLAPPING_ENTRIES', 'entry data overlaps another entry or the central directory', c.name);
      c.readable = false;
    }
  }
}

interface MemberData {
  size: number;
  crc: number;
  sha256: string;
  data?: Buffer;
}

/** Stream one member, counting real bytes against the remaining budget. */
async function readMember(zip: ZipFile, entry: Entry, keep: boolean, budget: number): Promise<MemberData> {
  const stream: Readable = await zip.openReadStreamPromise(entry);
  const hash = createHash('sha256');
  let crc = 0;
  let size = 0;
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > budget) throw new Error('the archive expands over the total limit');
      crc = zlib.crc32(chunk, crc);
      hash.update(chunk);
      if (keep) chunks.push(chunk);
    }
  } finally {
    stream.destroy();
  }
  return { size, crc: crc >>> 0, sha256: hash.digest('hex'), data: keep ? Buffer.concat(chunks) : undefined };
}
