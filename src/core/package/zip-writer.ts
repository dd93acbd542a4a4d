/**
 * A small, deterministic zip writer (APPNOTE 6.3): only what plugin
 * archives need. Every entry is a regular file with a fixed DOS timestamp,
 * a normalized Unix mode, a UTF-8 name (flag bit 11) and no extra fields
 * except Zip64 when sizes or offsets need it. Entries whose data is known
 * up front get exact sizes in the local header; streamed entries use a
 * data descriptor (flag bit 3). Output goes to a sequential sink; nothing
 * is patched afterwards, so the archive can be hashed while it is written.
 *
 * Why not archiver: it costs about 0.7 ms per file, imports slowly, follows
 * symlinks, and cannot compress several files at once (see docs/archive-format.md).
 */

export type Sink = (chunk: Buffer) => void | Promise<void>;

export interface ZipWriterOptions {
  /** Seconds since the Unix epoch for every entry's timestamp (UTC); default 1980-01-01T00:00:00. */
  mtime?: number;
  /** Write Zip64 records even when not needed (tests of the Zip64 path). */
  forceZip64?: boolean;
}

export const STORE = 0;
export const DEFLATE = 8;

const U32 = 0xffffffff;
const U16 = 0xffff;
/** Streamed entries at or above this size get Zip64 sizes (deflate can grow incompressible data a little). */
const ZIP64_STREAM_THRESHOLD = 0xffff0000;
const FLAG_DESCRIPTOR = 0x0008;
const FLAG_UTF8 = 0x0800;

interface CentralRecord {
  name: Buffer;
  flags: number;
  method: number;
  crc: number;
  csize: number;
  usize: number;
  offset: number;
  mode: number;
  zip64Local: boolean;
}

/** DOS date and time fields for a Unix time (UTC), clamped to 1980..2107. */
export function dosDateTime(seconds: number | undefined): { date: number; time: number } {
  const d = new Date((seconds ?? Date.UTC(1980, 0, 1) / 1000) * 1000);
  let year = d.getUTCFullYear();
  if (!Number.isFinite(year) || year < 1980) return { date: (1 << 5) | 1, time: 0 };
  if (year > 2107) year = 2107;
  return {
    date: ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | Math.floor(d.getUTCSeconds() / 2),
  };
}

export class ZipWriter {
  private readonly records: CentralRecord[] = [];
  private offset = 0;
  private readonly date: number;
  private readonly time: number;
  private readonly forceZip64: boolean;
  private open?: CentralRecord;
  private openBytes = 0;

  constructor(
    private readonly sink: Sink,
    opts: ZipWriterOptions = {},
  ) {
    const dt = dosDateTime(opts.mtime);
    this.date = dt.date;
    this.time = dt.time;
    this.forceZip64 = Boolean(opts.forceZip64);
  }

  /** Bytes written so far. */
  get size(): number {
    return this.offset;
  }

  private async emit(buf: Buffer): Promise<void> {
    this.offset += buf.length;
    await this.sink(buf);
  }

  /** An entry whose (possibly compressed) data, CRC and sizes are known. */
  async addEntry(name: string, mode: number, method: number, crc: number, usize: number, data: Buffer): Promise<void> {
    if (this.open) throw new Error('zip writer: an entry is still open');
    const nameBuf = Buffer.from(name, 'utf8');
    const zip64 = this.forceZip64 || usize >= U32 || data.length >= U32;
    const rec: CentralRecord = {
      name: nameBuf,
      flags: FLAG_UTF8,
      method,
      crc: crc >>> 0,
      csize: data.length,
      usize,
      offset: this.offset,
      mode,
      zip64Local: zip64,
    };
    const extra = zip64 ? zip64Extra([usize, data.length]) : EMPTY;
    const h = localHeader(rec, this.date, this.time, extra, zip64 ? U32 : data.length, zip64 ? U32 : usize, rec.crc);
    this.records.push(rec);
    await this.emit(Buffer.concat([h, nameBuf, extra]));
    if (data.length) await this.emit(data);
  }

  /** Start a streamed entry; follow with writeData() calls and endEntry(). */
  async beginEntry(name: string, mode: number, method: number, sizeHint: number): Promise<void> {
    if (this.open) throw new Error('zip writer: an entry is still open');
    const nameBuf = Buffer.from(name, 'utf8');
    const zip64 = this.forceZip64 || sizeHint >= ZIP64_STREAM_THRESHOLD;
    const rec: CentralRecord = {
      name: nameBuf,
      flags: FLAG_UTF8 | FLAG_DESCRIPTOR,
      method,
      crc: 0,
      csize: 0,
      usize: 0,
      offset: this.offset,
      mode,
      zip64Local: zip64,
    };
    const extra = zip64 ? zip64Extra([0, 0]) : EMPTY;
    const h = localHeader(rec, this.date, this.time, extra, zip64 ? U32 : 0, zip64 ? U32 : 0, 0);
    this.open = rec;
    this.openBytes = 0;
    await this.emit(Buffer.concat([h, nameBuf, extra]));
  }

  async writeData(data: Buffer): Promise<void> {
    if (!this.open) throw new Error('zip writer: no open entry');
    this.openBytes += data.length;
    await this.emit(data);
  }

  async endEntry(crc: number, usize: number): Promise<void> {
    const rec = this.open;
    if (!rec) throw new Error('zip writer: no open entry');
    rec.crc = crc >>> 0;
    rec.csize = this.openBytes;
    rec.usize = usize;
    if (!rec.zip64Local && (rec.csize >= U32 || rec.usize >= U32)) {
      throw new Error(`zip writer: ${rec.name.toString()} grew past 4 GiB while it was written`);
    }
    const dd = Buffer.alloc(rec.zip64Local ? 24 : 16);
    dd.writeUInt32LE(0x08074b50, 0);
    dd.writeUInt32LE(rec.crc, 4);
    if (rec.zip64Local) {
      dd.writeBigUInt64LE(BigInt(rec.csize), 8);
      dd.writeBigUInt64LE(BigInt(rec.usize), 16);
    } else {
      dd.writeUInt32LE(rec.csize, 8);
      dd.writeUInt32LE(rec.usize, 12);
    }
    this.records.push(rec);
    this.open = undefined;
    await this.emit(dd);
  }

  /** Write the central directory and the end records. */
  async finish(): Promise<void> {
    if (this.open) throw new Error('zip writer: an entry is still open');
    const cdStart = this.offset;
    const parts: Buffer[] = [];
    let cdSize = 0;
    for (const r of this.records) {
      const big: number[] = [];
      if (r.usize >= U32 || this.forceZip64) big.push(r.usize);
      if (r.csize >= U32 || this.forceZip64) big.push(r.csize);
      if (r.offset >= U32 || this.forceZip64) big.push(r.offset);
      const zip64 = big.length > 0;
      const extra = zip64 ? zip64Extra(big) : EMPTY;
      const h = Buffer.alloc(46);
      h.writeUInt32LE(0x02014b50, 0);
      h.writeUInt16LE((3 << 8) | (zip64 || r.zip64Local ? 45 : 20), 4); // made by Unix
      h.writeUInt16LE(zip64 || r.zip64Local ? 45 : 20, 6);
      h.writeUInt16LE(r.flags, 8);
      h.writeUInt16LE(r.method, 10);
      h.writeUInt16LE(this.time, 12);
      h.writeUInt16LE(this.date, 14);
      h.writeUInt32LE(r.crc, 16);
      h.writeUInt32LE(r.csize >= U32 || this.forceZip64 ? U32 : r.csize, 20);
      h.writeUInt32LE(r.usize >= U32 || this.forceZip64 ? U32 : r.usize, 24);
      h.writeUInt16LE(r.name.length, 28);
      h.writeUInt16LE(extra.length, 30);
      h.writeUInt16LE(0, 32); // comment
      h.writeUInt16LE(0, 34); // disk
      h.writeUInt16LE(0, 36); // internal attributes
      h.writeUInt32LE(((0o100000 | r.mode) << 16) >>> 0, 38);
      h.writeUInt32LE(r.offset >= U32 || this.forceZip64 ? U32 : r.offset, 42);
      parts.push(h, r.name, extra);
      cdSize += 46 + r.name.length + extra.length;
      if (parts.length >= 3 * 1024) {
        await this.emit(Buffer.concat(parts));
        parts.length = 0;
      }
    }
    const n = this.records.length;
    const zip64End = this.forceZip64 || n >= U16 || cdStart >= U32 || cdSize >= U32;
    if (zip64End) {
      const z = Buffer.alloc(56 + 20);
      z.writeUInt32LE(0x06064b50, 0);
      z.writeBigUInt64LE(44n, 4);
      z.writeUInt16LE((3 << 8) | 45, 12);
      z.writeUInt16LE(45, 14);
      z.writeUInt32LE(0, 16);
      z.writeUInt32LE(0, 20);
      z.writeBigUInt64LE(BigInt(n), 24);
      z.writeBigUInt64LE(BigInt(n), 32);
      z.writeBigUInt64LE(BigInt(cdSize), 40);
      z.writeBigUInt64LE(BigInt(cdStart), 48);
      // locator
      z.writeUInt32LE(0x07064b50, 56);
      z.writeUInt32LE(0, 60);
      z.writeBigUInt64LE(BigInt(cdStart + cdSize), 64);
      z.writeUInt32LE(1, 72);
      parts.push(z);
    }
    const e = Buffer.alloc(22);
    e.writeUInt32LE(0x06054b50, 0);
    e.writeUInt16LE(zip64End ? U16 : n, 8);
    e.writeUInt16LE(zip64End ? U16 : n, 10);
    e.writeUInt32LE(zip64End ? U32 : cdSize, 12);
    e.writeUInt32LE(zip64End ? U32 : cdStart, 16);
    e.writeUInt16LE(0, 20);
    parts.push(e);
    await this.emit(Buffer.concat(parts));
  }
}

const EMPTY = Buffer.alloc(0);

function zip64Extra(values: number[]): Buffer {
  const b = Buffer.alloc(4 + 8 * values.length);
  b.writeUInt16LE(0x0001, 0);
  b.writeUInt16LE(8 * values.length, 2);
  values.forEach((v, i) => b.writeBigUInt64LE(BigInt(v), 4 + 8 * i));
  return b;
}

function localHeader(r: CentralRecord, date: number, time: number, extra: Buffer, csize: number, usize: number, crc: number): Buffer {
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(r.zip64Local ? 45 : 20, 4);
  h.writeUInt16LE(r.flags, 6);
  h.writeUInt16LE(r.method, 8);
  h.writeUInt16LE(time, 10);
  h.writeUInt16LE(date, 12);
  h.writeUInt32LE(crc >>> 0, 14);
  h.writeUInt32LE(csize >>> 0, 18);
  h.writeUInt32LE(usize >>> 0, 22);
  h.writeUInt16LE(r.name.length, 26);
  h.writeUInt16LE(extra.length, 28);
  return h;
}
