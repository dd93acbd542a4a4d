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

export interface PackResult {
  secrets: SecretFinding[];
  /** Every packed file with size and sha256 (what the integrity listing holds). */
  integrity: IntegrityFile[];
  bytesIn: number;
  /** Entries in the archive, the listing included. */
  entries: number;
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
  const deflateSlots = new Semaphore(Math.max(1, opts.concurrency ?? os.availableParallelism()));
  let failed = false; // a secret was found: keep scanning, stop compressing and writing

  const jobs: Job[] = [];
  for (const f of files) {
    const state: FileState = { f, chunks: Math.max(1, Math.ceil(f.size / CHUNK)), method: new Deferred<number>() };
    for (let i = 0; i < state.chunks; i++) {
      const start = i * CHUNK;
      jobs.push({ file: state, index: i, start, len: Math.min(CHUNK, f.size - start), last: i === state.chunks - 1 });
    }
  }

  const deflate = (buf: Buffer, o: zlib.ZlibOptions) =>
    deflateSlots.run(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          zlib.deflateRaw(buf, o, (err, out) => (err ? reject(err) : resolve(out)));
        }),
    );

  const prepare = async (job: Job): Promise<Prepared> => {
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
    if (!writing || failed) {
      if (job.index === 0) file.method.resolve(STORE);
      return { raw, method: STORE };
    }
    if (!multi) {
      if (storedByExtension(file.f.path) || raw.length === 0) return { raw, out: raw, method: STORE };
      const out = await deflate(raw, { level });
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
    if (method === STORE || failed) return { raw, out: raw, method: STORE };
    const out = await deflate(raw, {
      level,
      ...(dict ? { dictionary: data.subarray(0, dict) } : {}),
      ...(job.last ? {} : { finishFlush: zlib.constants.Z_SYNC_FLUSH }),
    });
    return { raw, out, method };
  };

  // Scheduler: start preparing chunks ahead of the writer, within bounds.
  let next = 0;
  let consumed = 0;
  let aheadBytes = 0;
  const pump = () => {
    while (
      next < jobs.length &&
      next - consumed < MAX_AHEAD_JOBS &&
      (aheadBytes < MAX_AHEAD_BYTES || next === consumed)
    ) {
      const job = jobs[next++]!;
      aheadBytes += job.len;
      job.promise = prepare(job);
      job.promise.catch(() => undefined); // observed by the writer; never unhandled
    }
  };

  const writer = writing ? new ZipWriter(opts.sink!, { mtime: opts.mtime, forceZip64: opts.forceZip64 }) : undefined;
  const secrets: SecretFinding[] = [];
  const integrity: IntegrityFile[] = [];
  let bytesDone = 0;

  try {
    let j = 0;
    for (const f of files) {
      const scan = !allow.has(f.path);
      let text = false;
      let line = 1;
      let tail: Buffer = Buffer.alloc(0);
      let crc = 0;
      const sha = createHash('sha256');
      let fileSecrets = 0;
      do {
        if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
        pump();
        const job = jobs[j++]!;
        const p = await job.promise!;
        job.promise = undefined; // let the chunk's buffers go once written
        consumed += 1;
        aheadBytes -= job.len;
        if (writing) {
          crc = zlib.crc32(p.raw, crc);
          sha.update(p.raw);
        }
        if (scan) {
          if (job.index === 0) text = looksLikeText(p.raw);
          if (text) {
            const window = tail.length ? Buffer.concat([tail, p.raw]) : p.raw;
            const found = scanSecrets(f.path, window, line).filter((s) => !secrets.some((x) => x.file === s.file && x.rule === s.rule));
            secrets.push(...found);
            fileSecrets += found.length;
            if (!job.last) {
              const nl = window.lastIndexOf(10);
              tail = nl === -1 ? window.subarray(Math.max(0, window.length - 256)) : window.subarray(nl + 1);
              if (tail.length > 4096) tail = tail.subarray(tail.length - 256);
              tail = Buffer.from(tail);
              line += countLines(p.raw);
            }
          }
        }
        if (fileSecrets > 0) failed = true;
        if (writer && !failed) {
          if (job.file.chunks === 1) {
            await writer.addEntry(f.path, f.mode, p.method, crc, p.raw.length, p.out!);
          } else {
            if (job.index === 0) await writer.beginEntry(f.path, f.mode, p.method, f.size);
            await writer.writeData(p.out!);
            if (job.last) await writer.endEntry(crc, f.size);
          }
        }
        bytesDone += p.raw.length;
        opts.onProgress?.(bytesDone, bytesTotal);
        if (job.last) break;
        // eslint-disable-next-line no-constant-condition
      } while (true);
      integrity.push({ path: f.path, size: f.size, sha256: sha.digest('hex') });
    }

    if (writer && !failed) {
      const listing = serializeIntegrity(opts.plugin, integrity);
      const out = zlib.deflateRawSync(listing, { level });
      await writer.addEntry(INTEGRITY_PATH, 0o644, DEFLATE, zlib.crc32(listing), listing.length, out);
      await writer.finish();
    }
  } finally {
    // Let in-flight reads settle so no file descriptor outlives the pack.
    await Promise.allSettled(jobs.slice(consumed, next).map((x) => x.promise));
  }
  return { secrets, integrity, bytesIn: bytesDone, entries: integrity.length + 1 };
}

/** Read `len` bytes at `pos`; for the last chunk also check the file did not grow. */
async function readChunk(f: PackFile, pos: number, len: number, last: boolean): Promise<Buffer> {
  const fd = await new Promise<number>((resolve, reject) =>
    fs.open(f.abs, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0), (err, fd) =>
      err ? reject(readError(f, err)) : resolve(fd),
    ),
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
