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
import { MAX_WHEEL_INDEX_BYTES, WHEEL_INDEX_PATH, checkWheels, parseWheelIndex, variantOf, type PackedWheel } from './wheels.js';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { MANIFEST_PATH, MAX_MANIFEST_BYTES, type Manifest } from '../manifest/types.js';
import { parseManifest, type ParsedManifest } from '../manifest/index.js';
import { INTEGRITY_PATH, MAX_INTEGRITY_BYTES, parseIntegrity, type IntegrityListing } from './integrity.js';
import { VERIFY_DEFAULTS } from './limits.js';
import { checkEntryName, showName, twinKey } from './names.js';
import { fileDigest } from '../digest.js';
import { count } from '../../io/counters.js';
import { openRegularFile } from '../../io/read-file.js';

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
  /**
   * What the writer of this archive already knows (build, of the archive it
   * has just written): members found here are not inflated again; their
   * facts and bytes are taken as given. Never pass it for a file read from
   * elsewhere.
   */
  known?: KnownMembers;
  /** Also hash the whole file (sha256 and size), in the same run. */
  hashFile?: boolean;
  /**
   * A manifest the caller has parsed already (the project's): when the
   * archive's config/plugin.yaml has these exact bytes (sha256), its parse
   * is taken instead of parsing the same bytes again.
   */
  parsedManifest?: { sha256: string; parsed: ParsedManifest };
}

/** Facts of members, as the writer computed them while packing. */
export interface KnownMembers {
  members: ReadonlyMap<string, { size: number; sha256: string }>;
  /** The bytes of config/plugin.yaml as packed (when they are known). */
  manifestBytes?: Buffer;
  /** The bytes of the integrity listing as packed. */
  listingBytes?: Buffer;
}

/** One member's real size and digests, as read (or as the writer knew them). */
export interface MemberFacts {
  size: number;
  sha256: string;
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
  /** Every member read, by name: its real size and sha256. */
  members: Map<string, MemberFacts>;
  /** sha256 of the integrity listing's bytes (what a signature's `contents` covers), null when it has none. */
  listingSha256: string | null;
  /** With hashFile: the whole file's sha256 and size. */
  archive?: { sha256: string; size: number };
  /** build --wheels: the packed wheels as wheels/index.json lists them (absent without one, or when it is malformed). */
  wheels?: PackedWheel[];
  /** build --split-platforms: the platform variant the archive is (core/package/wheels.ts variantOf); absent otherwise. */
  platform?: string;
}

export { VERIFY_DEFAULTS };

/** Entries smaller than this are never reported for their ratio (small text compresses well). */
const RATIO_FLOOR = 1024 * 1024;
/** Where a plugin's code lives in the archive (the runbook's src/plugin.py). */
export const CODE_DIR = 'src';
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

/** What the checks share while they run, in order, over one archive. */
interface Run {
  file: string;
  opts: VerifyOptions;
  limits: typeof VERIFY_DEFAULTS;
  add: Add;
  has: (code: string) => boolean;
  size: number;
  zip?: ZipFile;
  checked: Checked[];
  /** File entries by name. */
  names: Map<string, Checked>;
  manifestEntry?: Checked;
  listingEntry?: Checked;
  /** Real size and sha256 of every member read. */
  hashes: Map<string, { size: number; sha256: string }>;
  manifestBytes?: Buffer;
  listingBytes?: Buffer;
  /** The bytes of wheels/index.json (build --wheels), when packed. */
  wheelIndexBytes?: Buffer;
  manifest?: Manifest;
  /** What the report says about the central directory. */
  base: { entries: number; uncompressedBytes: number };
  /** The file opened once for stored members, with the one buffer they are read through. */
  raw?: { fh: fs.FileHandle; buf: Buffer };
}

/** One step; returning 'stop' ends the checks (what follows could not be trusted or read). */
type Check = (r: Run) => Promise<'stop' | void> | 'stop' | void;

/**
 * The marketplace's archive checks, in the order they run. A rule is found
 * by its code: grep for 'ZIP_BOMB_RATIO' lands in the check that raises it.
 */
const CHECKS: readonly [name: string, check: Check][] = [
  ['the file', checkFile],
  ['the zip structure', openZip],
  ['the entry count', checkEntryCount],
  ['the central directory', readCentralDirectory],
  ['twins and overlaps', checkLayout],
  ['the expansion', checkExpansion],
  ['the manifest entry', findManifest],
  ['the integrity entry', findIntegrity],
  ['every member', readMembers],
  ['the manifest', checkManifest],
  ['the integrity listing', checkIntegrity],
  ['the code', checkCode],
  ['the packed wheels', checkPackedWheels],
];

export async function verifyArchive(file: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const findings: VerifyFinding[] = [];
  let dropped = 0;
  const add: Add = (severity, code, message, entry) => {
    if (findings.length >= MAX_FINDINGS) {
      dropped += 1;
      return;
    }
    findings.push(entry === undefined ? { severity, code, message } : { severity, code, message, entry });
  };
  const run: Run = {
    file,
    opts,
    limits: { ...VERIFY_DEFAULTS, ...definedOnly(opts) },
    add,
    has: (code) => findings.some((f) => f.code === code),
    size: 0,
    checked: [],
    names: new Map(),
    hashes: new Map(),
    base: { entries: 0, uncompressedBytes: 0 },
  };
  // The whole file's digest is read beside the checks (another core), never after them.
  const hashing = opts.hashFile ? fileDigest(file) : undefined;
  hashing?.catch(() => undefined); // awaited below
  try {
    for (const [, check] of CHECKS) if ((await check(run)) === 'stop') break;
  } finally {
    run.zip?.close();
    await run.raw?.fh.close().catch(() => undefined);
  }
  if (dropped > 0) findings.push({ severity: 'error', code: 'TOO_MANY_FINDINGS', message: `${dropped} more findings not shown` });
  const listingSha256 = run.listingBytes ? createHash('sha256').update(run.listingBytes).digest('hex') : null;
  const archive = hashing ? await hashing : undefined;
  return {
    ok: !findings.some((f) => f.severity === 'error'),
    findings,
    ...run.base,
    manifest: run.manifest,
    members: run.hashes,
    listingSha256,
    ...(archive ? { archive } : {}),
    ...wheelsOf(run.wheelIndexBytes),
  };
}

/** A regular, non-empty file within the size limit. */
async function checkFile(r: Run): Promise<'stop' | void> {
  try {
    const st = await fs.stat(r.file);
    if (!st.isFile()) {
      r.add('error', 'NOT_A_FILE', `${r.file} is not a regular file`);
      return 'stop';
    }
    r.size = st.size;
  } catch (err) {
    r.add('error', 'CANNOT_READ', `cannot read ${r.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return 'stop';
  }
  if (r.size === 0) {
    r.add('error', 'BAD_ZIPFILE', 'the archive is empty (0 bytes)');
    return 'stop';
  }
  if (r.size > r.limits.maxArchiveBytes) {
    r.add('error', 'ARCHIVE_TOO_LARGE', `the archive is ${r.size} bytes, over the limit of ${r.limits.maxArchiveBytes}`);
    return 'stop';
  }
}

/** yauzl reads the end of central directory (never a streaming unzip). */
async function openZip(r: Run): Promise<'stop' | void> {
  try {
    r.zip = await yauzl.openPromise(r.file, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true });
  } catch (err) {
    r.add('error', 'BAD_ZIPFILE', `not a readable zip archive: ${(err as Error).message}`);
    return 'stop';
  }
}

function checkEntryCount(r: Run): 'stop' | void {
  if (r.zip!.entryCount <= r.limits.maxEntries) return;
  r.add('error', 'TOO_MANY_ENTRIES', `the archive has ${r.zip!.entryCount} entries, over the limit of ${r.limits.maxEntries}`);
  r.base.entries = r.zip!.entryCount;
  return 'stop';
}

/** Every entry's name, type, mode, encryption and compression (checkEntry). */
async function readCentralDirectory(r: Run): Promise<'stop' | void> {
  try {
    for await (const entry of r.zip!.eachEntry()) r.checked.push(checkEntry(entry, r.add));
  } catch (err) {
    r.add('error', 'BAD_ZIPFILE', `corrupt central directory: ${(err as Error).message}`);
    r.base.entries = r.checked.length;
    return 'stop';
  }
  r.base = { entries: r.checked.length, uncompressedBytes: r.checked.reduce((n, c) => n + c.entry.uncompressedSize, 0) };
}

function checkLayout(r: Run): void {
  checkTwins(r.checked, r.add);
  checkOverlaps(r.checked, r.size, r.add);
}

/** Declared sizes: the total, and each large entry's ratio (zip bombs). */
function checkExpansion(r: Run): 'stop' | void {
  const declared = r.base.uncompressedBytes;
  if (declared > r.limits.maxUncompressedBytes) {
    r.add('error', 'ZIP_BOMB_SIZE', `the archive expands to ${declared} bytes, over the limit of ${r.limits.maxUncompressedBytes}`);
  }
  for (const c of r.checked) {
    const { compressedSize, uncompressedSize } = c.entry;
    if (uncompressedSize > RATIO_FLOOR && uncompressedSize > r.limits.maxRatio * Math.max(compressedSize, 1)) {
      r.add(
        'error',
        'ZIP_BOMB_RATIO',
        `expands ${Math.round(uncompressedSize / Math.max(compressedSize, 1))}x, over the limit of ${r.limits.maxRatio}x`,
        c.name,
      );
      c.readable = false;
    }
  }
  if (r.has('ZIP_BOMB_SIZE') || r.has('BAD_ZIPFILE')) return 'stop';
  r.names = new Map(r.checked.filter((c) => !c.dir).map((c) => [c.name, c]));
}

/** The manifest must be at the root, and small. */
function findManifest(r: Run): void {
  r.manifestEntry = r.names.get(MANIFEST_PATH);
  if (!r.manifestEntry) {
    const nested = r.checked.find((c) => c.name.endsWith(`/${MANIFEST_PATH}`));
    if (nested) {
      r.add(
        'error',
        'MANIFEST_NOT_AT_ROOT',
        `the manifest is at ${showName(nested.name)}, not ${MANIFEST_PATH}: zip the contents, not the folder`,
        nested.name,
      );
    } else {
      const f = MANIFEST_MISSING;
      r.add(f.severity, f.code, f.message);
    }
  } else if (r.manifestEntry.entry.uncompressedSize > MAX_MANIFEST_BYTES) {
    r.add('error', 'MANIFEST_TOO_LARGE', `${MANIFEST_PATH} is over ${MAX_MANIFEST_BYTES} bytes`, MANIFEST_PATH);
    r.manifestEntry.readable = false;
  }
}

function findIntegrity(r: Run): void {
  r.listingEntry = r.names.get(INTEGRITY_PATH);
  if (!r.listingEntry) {
    r.add('error', 'INTEGRITY_MISSING', `the archive has no ${INTEGRITY_PATH}; build it with \`plexichat-plugin build\``);
  } else if (r.listingEntry.entry.uncompressedSize > MAX_INTEGRITY_BYTES) {
    r.add('error', 'INTEGRITY_TOO_LARGE', `${INTEGRITY_PATH} is over ${MAX_INTEGRITY_BYTES} bytes`, INTEGRITY_PATH);
    r.listingEntry.readable = false;
  }
}

/** Every member's bytes: real sizes against the budget, CRC-32, sha256. */
async function readMembers(r: Run): Promise<void> {
  let actualTotal = 0;
  const known = r.opts.known;
  for (const c of r.checked) {
    if (!c.readable || c.dir) continue;
    const isIndex = c.name === WHEEL_INDEX_PATH && c.entry.uncompressedSize <= MAX_WHEEL_INDEX_BYTES;
    const keep = c === r.manifestEntry || c === r.listingEntry || isIndex;
    const given = known?.members.get(c.name);
    const bytes = c === r.manifestEntry ? known?.manifestBytes : c === r.listingEntry ? known?.listingBytes : undefined;
    if (given && (!keep || bytes)) {
      // What the writer packed: its facts, not a second inflation of what it just compressed.
      actualTotal += given.size;
      r.hashes.set(c.name, { size: given.size, sha256: given.sha256 });
      if (c === r.manifestEntry) r.manifestBytes = bytes;
      if (c === r.listingEntry) r.listingBytes = bytes;
      continue;
    }
    if (bytes && c === r.listingEntry) {
      // The listing lists itself nowhere: its bytes as packed are its facts.
      actualTotal += bytes.length;
      r.hashes.set(c.name, { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
      r.listingBytes = bytes;
      continue;
    }
    try {
      const m = await readMember(r, c.entry, keep, r.limits.maxUncompressedBytes - actualTotal);
      actualTotal += m.size;
      if (m.crc !== c.entry.crc32) r.add('error', 'BAD_CRC', 'CRC-32 does not match the data (corrupt or tampered)', c.name);
      r.hashes.set(c.name, { size: m.size, sha256: m.sha256 });
      if (c === r.manifestEntry) r.manifestBytes = m.data;
      if (c === r.listingEntry) r.listingBytes = m.data;
      if (isIndex) r.wheelIndexBytes = m.data;
    } catch (err) {
      const msg = (err as Error).message;
      if (/too many|too few|expected \d+|uncompressedSize|actual/i.test(msg) && !/total/.test(msg)) {
        r.add('error', 'SIZE_MISMATCH', `declared size does not match the data: ${msg}`, c.name);
      } else if (/over the total limit/.test(msg)) {
        r.add('error', 'ZIP_BOMB_SIZE', msg, c.name);
        break;
      } else {
        r.add('error', 'BAD_ENTRY', `cannot read the entry: ${msg}`, c.name);
      }
    }
  }
}

/** The manifest parses, passes the manifest rules, and names what was expected. */
function checkManifest(r: Run): void {
  if (!r.manifestBytes) return;
  const given = r.opts.parsedManifest;
  const same = given !== undefined && createHash('sha256').update(r.manifestBytes).digest('hex') === given.sha256;
  const parsed = same ? given.parsed : parseManifest(r.manifestBytes, MANIFEST_PATH);
  for (const d of parsed.diagnostics) {
    const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
    r.add(d.severity, d.code, `${where} ${d.message}${d.hint ? ` (${d.hint})` : ''}`, MANIFEST_PATH);
  }
  const manifest = (r.manifest = parsed.manifest);
  const expect = r.opts.expect;
  if (manifest && expect?.name !== undefined && manifest.plugin.name !== expect.name) {
    r.add('error', 'NAME_MISMATCH', `the archive holds plugin "${manifest.plugin.name}", expected "${expect.name}"`, MANIFEST_PATH);
  }
  if (manifest && expect?.version !== undefined && manifest.plugin.version !== expect.version) {
    r.add('error', 'VERSION_MISMATCH', `the archive holds version ${manifest.plugin.version}, expected ${expect.version}`, MANIFEST_PATH);
  }
}

/** Every member against the integrity listing, and the listing against the members. */
function checkIntegrity(r: Run): void {
  if (!r.listingBytes) return;
  let listing: IntegrityListing;
  try {
    listing = parseIntegrity(r.listingBytes);
  } catch (err) {
    r.add('error', 'INTEGRITY_MALFORMED', `${INTEGRITY_PATH}: ${(err as Error).message}`, INTEGRITY_PATH);
    return;
  }
  const listed = new Map(listing.files.map((f) => [f.path, f]));
  for (const c of r.checked) {
    // Entries already refused for their name or type are not reported twice.
    if (c.dir || c === r.listingEntry || !c.readable) continue;
    const rec = listed.get(c.name);
    if (!rec) {
      r.add('error', 'INTEGRITY_UNLISTED', `not in ${INTEGRITY_PATH}`, c.name);
      continue;
    }
    const h = r.hashes.get(c.name);
    if (h && (h.size !== rec.size || h.sha256 !== rec.sha256)) {
      r.add(
        'error',
        'INTEGRITY_MISMATCH',
        h.size !== rec.size ? `size ${h.size} differs from the listed ${rec.size} (tampered?)` : 'sha256 differs from the listed one (tampered?)',
        c.name,
      );
    }
  }
  for (const rec of listing.files) {
    if (!r.names.has(rec.path)) r.add('error', 'INTEGRITY_MISSING_ENTRY', `listed in ${INTEGRITY_PATH} but not in the archive`, rec.path);
  }
  const m = r.manifest;
  if (m && (listing.plugin?.name !== m.plugin.name || listing.plugin?.version !== m.plugin.version)) {
    r.add('error', 'INTEGRITY_PLUGIN_MISMATCH', `${INTEGRITY_PATH} names a different plugin or version than the manifest`, INTEGRITY_PATH);
  }
}

function wheelsOf(bytes: Buffer | undefined): { wheels?: PackedWheel[]; platform?: string } {
  const index = bytes && parseWheelIndex(bytes);
  if (typeof index !== 'object') return {};
  const platform = variantOf(index.platform);
  return { wheels: index.wheels, ...(platform ? { platform } : {}) };
}

/** Every packed wheel against the lock's hashes and the archive's platform (core/package/wheels.ts, the one rule). */
function checkPackedWheels(r: Run): void {
  for (const f of checkWheels(r.wheelIndexBytes, r.hashes)) r.add('error', f.code, f.message, f.entry);
}

/** A plugin is Python code under src/: an archive without any has nothing to run. */
function checkCode(r: Run): void {
  const f = codeMissing(r.names.keys());
  if (f) r.add(f.severity, f.code, f.message);
}

const MANIFEST_MISSING: VerifyFinding = { severity: 'error', code: 'MANIFEST_MISSING', message: `the archive has no ${MANIFEST_PATH}` };

function codeMissing(names: Iterable<string>): VerifyFinding | undefined {
  for (const n of names) if (n.startsWith(`${CODE_DIR}/`) && n.endsWith('.py')) return undefined;
  return { severity: 'error', code: 'CODE_MISSING', message: `the archive has no Python code under ${CODE_DIR}/ (the plugin's ${CODE_DIR}/plugin.py)` };
}

/**
 * The parts every archive must hold, judged by entry names alone: what
 * verifyArchive says of them, for a list of files not packed yet (build --dry-run).
 */
export function requiredParts(names: readonly string[]): VerifyFinding[] {
  const out: VerifyFinding[] = [];
  if (!names.includes(MANIFEST_PATH)) out.push(MANIFEST_MISSING);
  const code = codeMissing(names);
  if (code) out.push(code);
  return out;
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
    const c = byOffset[i];
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

/** Largest read of a stored member: one buffer per run, reused for every read. */
const STORED_CHUNK = 1024 * 1024;

/**
 * Read one member, counting real bytes against the remaining budget. A
 * stored member (no compression) is read straight from the file through one
 * reused buffer: a read stream allocates a new chunk per read, and on a large
 * stored payload that garbage piles up to V8's external-memory limit (tens of
 * MiB of peak RSS while submit sends the same file).
 */
async function readMember(r: Run, entry: Entry, keep: boolean, budget: number): Promise<MemberData> {
  count('archive.inflate');
  if (entry.compressionMethod === 0 && !entry.isEncrypted()) return readStored(r, entry, keep, budget);
  const stream: Readable = await r.zip!.openReadStreamPromise(entry);
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

/** A stored member's bytes, where its local header says they start (yauzl's bounds check), as many as declared. */
async function readStored(r: Run, entry: Entry, keep: boolean, budget: number): Promise<MemberData> {
  const { fileDataStart } = await r.zip!.readLocalFileHeaderPromise(entry, { minimal: true });
  r.raw ??= { fh: (await openRegularFile(r.file)).handle, buf: Buffer.allocUnsafe(STORED_CHUNK) };
  const { fh, buf } = r.raw;
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  const want = entry.compressedSize;
  let crc = 0;
  let size = 0;
  while (size < want) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, want - size), fileDataStart + size);
    // The words of yauzl's byte count, so the finding is the same SIZE_MISMATCH.
    if (bytesRead === 0) throw new Error(`not enough bytes in the stream. expected ${want}. got only ${size}`);
    const chunk = buf.subarray(0, bytesRead);
    size += bytesRead;
    if (size > budget) throw new Error('the archive expands over the total limit');
    crc = zlib.crc32(chunk, crc);
    hash.update(chunk);
    if (keep) chunks.push(Buffer.from(chunk));
  }
  return { size, crc: crc >>> 0, sha256: hash.digest('hex'), data: keep ? Buffer.concat(chunks) : undefined };
}
