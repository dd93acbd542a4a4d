/**
 * The packing pipeline: files are cut into chunks of at most 1 MiB; chunks
 * are read and deflated ahead of the writer, several at once on libuv's
 * threadpool (bounded by count and bytes, so memory does not grow with the
 * plugin), and the writer consumes them in archive order: CRC-32, sha256,
 * secret scan, then the zip writer. Chunks of one file are deflated
 * independently with the previous 32 KiB as a preset dictionary and joined
 * with sync flushes (as pigz does), so one large file also uses every
 * core. Data that does not compress (known extensions, or a trial deflate
 * of the first 64 KiB saves under 10%) is stored, not deflated.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import zlib from 'node:zlib';
import { MANIFEST_PATH, MAX_MANIFEST_BYTES } from '../manifest/types.js';
import { compareNames, INTEGRITY_PATH, serializeIntegrity, type IntegrityFile } from './integrity.js';
import { countLines, looksLikeText, scanSecrets, type SecretFinding } from './secrets.js';
import { DEFLATE, STORE, ZipWriter, type Sink } from './zip-writer.js';

export interface PackFile {
  /** Entry name: relative, forward slashes, NFC. */
  path: string;
  /** Absolute path of the bytes (the target, for a symlink that stays inside). */
  abs: string;
  size: number;
  /** 0o644 or 0o755. */
  mode: number;
  /** Its stamp when it was listed, when settled (source-record.ts): what the build records for later freshness checks. */
  stamp?: string;
}

export interface PackOptions {
  files: PackFile[];
  plugin: { name: string; version: string };
  /** Where the archive bytes go; without a sink nothing is compressed (dry run: read and scan only). */
  sink?: Sink;
  /** Unix seconds for every entry's timestamp (SOURCE_DATE_EPOCH); default 1980-01-01. */
  mtime?: number;
  /** Deflate level (default 6, as Info-ZIP). */
  level?: number;
  /** Entry paths whose secrets are allowed. */
  allowSecrets?: ReadonlySet<string>;
  signal?: AbortSignal;
  /** Called after each chunk with bytes read so far. */
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
  /** Chunks deflated at once (default: the number of cores). */
  concurrency?: number;
  forceZip64?: boolean;
}

/**
 * What the writer knows of one archive member once it is written: what a
 * reader would learn by inflating it, without reading the archive again.
 */
export interface MemberFacts {
  /** Entry name, as in the central directory. */
  path: string;
  /** Uncompressed bytes. */
  size: number;
  /** CRC-32 of the uncompressed bytes (unsigned). */
  crc32: number;
  /** sha256 of the uncompressed bytes, hex. */
  sha256: string;
  /** Bytes of the member's data in the archive. */
  compressedSize: number;
  /** 0 (stored) or 8 (deflated). */
  method: number;
  /** 0o644 or 0o755. */
  mode: number;
  /** Offset of the member's local header in the archive. */
  offset: number;
}

export interface PackResult {
  secrets: SecretFinding[];
  /** Every packed file with size and sha256 (what the integrity listing holds). */
  integrity: IntegrityFile[];
  bytesIn: number;
  /** Entries in the archive, the listing included. */
  entries: number;
  /**
   * When an archive was written: every member in archive order, the
   * integrity listing last; the listing's bytes; the manifest's bytes (when
   * packed and no larger than MAX_MANIFEST_BYTES). Absent for a dry run or
   * when a secret stopped the writing.
   */
  written?: { members: MemberFacts[]; listingBytes: Buffer; manifestBytes?: Buffer };
}

/** A file that could not be read (or changed while it was read). */
export class PackReadError extends Error {
  constructor(
    readonly file: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const CHUNK = 1024 * 1024;
const DICT = 32 * 1024;
const TRIAL = 64 * 1024;
const MAX_AHEAD_BYTES = 8 * 1024 * 1024;
const MAX_AHEAD_JOBS = 64;

/** Extensions whose content is already compressed. */
const STORED_EXT = new Set(
  (
    'zip gz tgz bz2 xz zst lz4 7z rar whl egg jar war apk png jpg jpeg gif webp avif heic ico ' +
    'mp3 mp4 m4a m4v aac ogg oga opus flac webm mkv mov avi woff woff2 br'
  ).split(' '),
);

function storedByExtension(name: string): boolean {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 && STORED_EXT.has(base.slice(dot + 1).toLowerCase());
}

interface FileState {
  f: PackFile;
  chunks: number;
  /** Decided by the first chunk of a multi-chunk file. */
  method: Deferred<number>;
}

interface Job {
  file: FileState;
  index: number;
  start: number;
  len: number;
  last: boolean;
  promise?: Promise<Prepared>;
}

interface Prepared {
  raw: Buffer;
  out?: Buffer;
  method: number;
}

export async function pack(opts: PackOptions): Promise<PackResult> {
  const level = opts.level ?? 6;
  const writing = opts.sink !== undefined;
  const allow = opts.allowSecrets ?? new Set<string>();
  const files = [...opts.files].sort((a, b) => compareNames(a.path, b.path));
  const bytesTotal = files.reduce((n, f) => n + f.size, 0);
  let failed = false; // a secret was found: keep scanning, stop compressing and writing
  const prepare = chunkPreparer({ writing, level, concurrency: opts.concurrency, failed: () => failed });
  const ahead = new ReadAhead(planJobs(files), prepare);
  const writer = writing ? new ZipWriter(opts.sink!, { mtime: opts.mtime, forceZip64: opts.forceZip64 }) : undefined;
  const secrets: SecretFinding[] = [];
  const integrity: IntegrityFile[] = [];
  const members: MemberFacts[] = [];
  let manifest: Buffer | undefined;
  let bytesDone = 0;

  try {
    for (const f of files) {
      const scan = allow.has(f.path) ? undefined : new SecretScan(f.path, secrets);
      const keep = writing && f.path === MANIFEST_PATH && f.size <= MAX_MANIFEST_BYTES ? ([] as Buffer[]) : undefined;
      const offset = writer?.size ?? 0;
      let crc = 0;
      let compressedSize = 0;
      let method = STORE;
      const sha = createHash('sha256');
      for (;;) {
        if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
        const { job, p } = await ahead.take();
        if (writing) {
          crc = zlib.crc32(p.raw, crc);
          sha.update(p.raw);
          keep?.push(p.raw);
        }
        if (scan && scan.add(job, p.raw) > 0) failed = true;
        if (writer && !failed) {
          await writeChunk(writer, f, job, p, crc);
          compressedSize += p.out!.length;
          method = p.method;
        }
        bytesDone += p.raw.length;
        opts.onProgress?.(bytesDone, bytesTotal);
        if (job.last) break;
      }
      const sha256 = sha.digest('hex');
      integrity.push({ path: f.path, size: f.size, sha256 });
      if (writer && !failed) members.push({ path: f.path, size: f.size, crc32: crc >>> 0, sha256, compressedSize, method, mode: f.mode, offset });
      if (keep) manifest = Buffer.concat(keep);
    }

    if (writer && !failed) {
      const listing = serializeIntegrity(opts.plugin, integrity);
      const out = zlib.deflateRawSync(listing, { level });
      const crc32 = zlib.crc32(listing) >>> 0;
      const offset = writer.size;
      await writer.addEntry(INTEGRITY_PATH, 0o644, DEFLATE, crc32, listing.length, out);
      const sha256 = createHash('sha256').update(listing).digest('hex');
      members.push({ path: INTEGRITY_PATH, size: listing.length, crc32, sha256, compressedSize: out.length, method: DEFLATE, mode: 0o644, offset });
      await writer.finish();
      return {
        secrets,
        integrity,
        bytesIn: bytesDone,
        entries: members.length,
        written: { members, listingBytes: listing, ...(manifest ? { manifestBytes: manifest } : {}) },
      };
    }
  } finally {
    // Let in-flight reads settle so no file descriptor outlives the pack.
    await ahead.settle();
  }
  return { secrets, integrity, bytesIn: bytesDone, entries: integrity.length + 1 };
}

/** Every file cut into chunks of at most 1 MiB, in archive order. */
function planJobs(files: PackFile[]): Job[] {
  const jobs: Job[] = [];
  for (const f of files) {
    const state: FileState = { f, chunks: Math.max(1, Math.ceil(f.size / CHUNK)), method: new Deferred<number>() };
    for (let i = 0; i < state.chunks; i++) {
      const start = i * CHUNK;
      jobs.push({ file: state, index: i, start, len: Math.min(CHUNK, f.size - start), last: i === state.chunks - 1 });
    }
  }
  return jobs;
}

/**
 * Read and (when writing) deflate one chunk on libuv's threadpool. A file
 * of one chunk is stored when deflate does not shrink it; a multi-chunk
 * file is decided by its first chunk (a trial deflate of 64 KiB), and each
 * later chunk is deflated with the previous 32 KiB as a preset dictionary.
 */
function chunkPreparer(o: { writing: boolean; level: number; concurrency?: number; failed: () => boolean }): (job: Job) => Promise<Prepared> {
  const slots = new Semaphore(Math.max(1, o.concurrency ?? os.availableParallelism()));
  const deflate = (buf: Buffer, zo: zlib.ZlibOptions) =>
    slots.run(() => new Promise<Buffer>((resolve, reject) => zlib.deflateRaw(buf, zo, (err, out) => (err ? reject(err) : resolve(out)))));
  return async (job) => {
    const { file } = job;
    const multi = file.chunks > 1;
    const dict = multi && job.index > 0 ? DICT : 0;
    let data: Buffer;
    try {
      data = await readChunk(file.f, job.start - dict, job.len + dict, job.last);
    } catch (err) {
      if (job.index === 0) file.method.reject(err);
      throw err;
    }
    const raw = dict ? data.subarray(dict) : data;
    if (!o.writing || o.failed()) {
      if (job.index === 0) file.method.resolve(STORE);
      return { raw, method: STORE };
    }
    if (!multi) {
      if (storedByExtension(file.f.path) || raw.length === 0) return { raw, out: raw, method: STORE };
      const out = await deflate(raw, { level: o.level });
      return out.length < raw.length ? { raw, out, method: DEFLATE } : { raw, out: raw, method: STORE };
    }
    if (job.index === 0) {
      if (storedByExtension(file.f.path)) file.method.resolve(STORE);
      else {
        deflate(raw.subarray(0, TRIAL), { level: 1 }).then(
          (t) => file.method.resolve(t.length < 0.9 * Math.min(TRIAL, raw.length) ? DEFLATE : STORE),
          (err) => file.method.reject(err),
        );
      }
    }
    const method = await file.method.promise;
    if (method === STORE || o.failed()) return { raw, out: raw, method: STORE };
    const out = await deflate(raw, {
      level: o.level,
      ...(dict ? { dictionary: data.subarray(0, dict) } : {}),
      ...(job.last ? {} : { finishFlush: zlib.constants.Z_SYNC_FLUSH }),
    });
    return { raw, out, method };
  };
}

/** Chunks prepared ahead of the writer, bounded by count and bytes, handed out in archive order. */
class ReadAhead {
  private started = 0;
  private consumed = 0;
  private aheadBytes = 0;

  constructor(
    private readonly jobs: Job[],
    private readonly prepare: (job: Job) => Promise<Prepared>,
  ) {}

  private pump(): void {
    while (
      this.started < this.jobs.length &&
      this.started - this.consumed < MAX_AHEAD_JOBS &&
      (this.aheadBytes < MAX_AHEAD_BYTES || this.started === this.consumed)
    ) {
      const job = this.jobs[this.started++];
      this.aheadBytes += job.len;
      job.promise = this.prepare(job);
      job.promise.catch(() => undefined); // observed by take(); never unhandled
    }
  }

  /** The next chunk in archive order, once prepared. */
  async take(): Promise<{ job: Job; p: Prepared }> {
    this.pump();
    const job = this.jobs[this.consumed];
    const p = await job.promise!;
    job.promise = undefined; // let the chunk's buffers go once written
    this.consumed += 1;
    this.aheadBytes -= job.len;
    return { job, p };
  }

  settle(): Promise<unknown> {
    return Promise.allSettled(this.jobs.slice(this.consumed, this.started).flatMap((x) => (x.promise ? [x.promise] : [])));
  }
}

/** The secret scan of one file, chunk by chunk, carrying the line count and the last partial line across chunks. */
class SecretScan {
  private text = false;
  private line = 1;
  private tail: Buffer = Buffer.alloc(0);

  constructor(
    private readonly path: string,
    /** Every finding so far (a rule is reported once per file). */
    private readonly all: SecretFinding[],
  ) {}

  /** Scan one chunk; returns how many new findings it added. */
  add(job: Job, raw: Buffer): number {
    if (job.index === 0) this.text = looksLikeText(raw);
    if (!this.text) return 0;
    const window = this.tail.length ? Buffer.concat([this.tail, raw]) : raw;
    const found = scanSecrets(this.path, window, this.line).filter((s) => !this.all.some((x) => x.file === s.file && x.rule === s.rule));
    this.all.push(...found);
    if (!job.last) {
      const nl = window.lastIndexOf(10);
      let tail = nl === -1 ? window.subarray(Math.max(0, window.length - 256)) : window.subarray(nl + 1);
      if (tail.length > 4096) tail = tail.subarray(tail.length - 256);
      this.tail = Buffer.from(tail);
      this.line += countLines(raw);
    }
    return found.length;
  }
}

async function writeChunk(writer: ZipWriter, f: PackFile, job: Job, p: Prepared, crc: number): Promise<void> {
  if (job.file.chunks === 1) return writer.addEntry(f.path, f.mode, p.method, crc, p.raw.length, p.out!);
  if (job.index === 0) await writer.beginEntry(f.path, f.mode, p.method, f.size);
  await writer.writeData(p.out!);
  if (job.last) await writer.endEntry(crc, f.size);
}

/** Read `len` bytes at `pos`; for the last chunk also check the file did not grow. */
async function readChunk(f: PackFile, pos: number, len: number, last: boolean): Promise<Buffer> {
  const fd = await new Promise<number>((resolve, reject) =>
    fs.open(f.abs, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0), (err, fd) => (err ? reject(readError(f, err)) : resolve(fd))),
  );
  try {
    const want = last ? len + 1 : len;
    const buf = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const n = await new Promise<number>((resolve, reject) =>
        fs.read(fd, buf, got, want - got, pos + got, (err, n) => (err ? reject(readError(f, err)) : resolve(n))),
      );
      if (n === 0) break;
      got += n;
    }
    if (got < len || got > len) {
      throw new PackReadError(f.path, 'CHANGED', `${f.path} changed while the archive was being built`);
    }
    return buf.subarray(0, len);
  } finally {
    fs.close(fd, () => undefined);
  }
}

function readError(f: PackFile, err: NodeJS.ErrnoException): PackReadError {
  const code = err.code ?? 'EIO';
  return new PackReadError(f.path, code, `cannot read ${f.path} (${code})`);
}

class Semaphore {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((r) => this.waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    }
  }
}

class Deferred<T> {
  readonly promise: Promise<T>;
  resolve!: (v: T) => void;
  reject!: (e: unknown) => void;
  constructor() {
    this.promise = new Promise<T>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    this.promise.catch(() => undefined);
  }
}
