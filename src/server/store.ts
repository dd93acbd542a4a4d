/**
 * The archive store: content-addressed files under <data>/archives/<aa>/<sha256>.zip.
 * Uploads stream into <data>/tmp while hashed and counted; an accepted one
 * is fsynced, renamed into place and its directory fsynced before the
 * database row is committed. tmp/ and unreferenced archives are swept on start.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { count } from '../io/counters.js';

export interface Received {
  sha256: string;
  size: number;
  /** True when the source went over the byte cap (the file holds only part of it). */
  truncated: boolean;
}

async function fsyncPath(p: string, flags = 'r'): Promise<void> {
  const fh = await fs.open(p, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class ArchiveStore {
  readonly root: string;
  readonly archives: string;
  readonly tmp: string;

  constructor(dataDir: string) {
    this.root = dataDir;
    this.archives = path.join(dataDir, 'archives');
    this.tmp = path.join(dataDir, 'tmp');
  }

  /** Make archives/ and tmp/ in the (existing) data dir; returns the ones it made. */
  async init(): Promise<string[]> {
    const made: string[] = [];
    for (const dir of [this.archives, this.tmp]) {
      try {
        await fs.mkdir(dir);
        made.push(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (!(await fs.stat(dir)).isDirectory()) {
          throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), { code: 'ENOTDIR', path: dir, syscall: 'mkdir' });
        }
      }
    }
    return made;
  }

  tempPath(): string {
    return path.join(this.tmp, `upload-${randomBytes(8).toString('hex')}.part`);
  }

  pathOf(sha256: string): string {
    return path.join(this.archives, sha256.slice(0, 2), `${sha256}.zip`);
  }

  /**
   * Stream `source` into `file`, hashing and counting. Stops writing once
   * more than `cap` bytes arrived (truncated: true); the caller answers 413.
   */
  async receive(source: Readable, file: string, cap: number, opts: { signal?: AbortSignal; failAfter?: number } = {}): Promise<Received> {
    count('archive.hash');
    const hash = createHash('sha256');
    let size = 0;
    let truncated = false;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (opts.failAfter !== undefined && size > opts.failAfter) {
          return done(Object.assign(new Error('ENOSPC: no space left on device (injected)'), { code: 'ENOSPC' }));
        }
        if (size > cap) {
          truncated = true;
          return done(); // drop the rest; the caller answers 413
        }
        hash.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(source, meter, createWriteStream(file, { flags: 'wx', mode: 0o644 }), { signal: opts.signal });
    return { sha256: hash.digest('hex'), size, truncated };
  }

  /**
   * Move a received temp file into the store: fsync it, rename it to its
   * content address, fsync the directory. Returns the final path.
   */
  async commit(tempFile: string, sha256: string): Promise<string> {
    const final = this.pathOf(sha256);
    const dir = path.dirname(final);
    let created = false;
    try {
      await fs.mkdir(dir);
      created = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (created) await fsyncPath(this.archives);
    try {
      await fs.access(final);
      // Same digest, same bytes: keep the stored one.
      await fs.rm(tempFile, { force: true });
      return final;
    } catch {
      /* not stored yet */
    }
    await fsyncPath(tempFile, 'r+');
    await fs.rename(tempFile, final);
    await fsyncPath(dir);
    return final;
  }

  async discard(file: string | undefined): Promise<void> {
    if (file) await fs.rm(file, { force: true }).catch(() => undefined);
  }

  /** Remove leftovers of a crash: temp uploads and archives no row refers to. */
  async sweep(referenced: Set<string>): Promise<{ temps: number; orphans: number }> {
    let temps = 0;
    let orphans = 0;
    for (const name of await fs.readdir(this.tmp)) {
      await fs.rm(path.join(this.tmp, name), { recursive: true, force: true });
      temps += 1;
    }
    for (const sub of await fs.readdir(this.archives)) {
      const dir = path.join(this.archives, sub);
      const st = await fs.lstat(dir);
      if (!st.isDirectory()) continue;
      for (const name of await fs.readdir(dir)) {
        const sha = name.replace(/\.zip$/, '');
        if (!referenced.has(sha)) {
          await fs.rm(path.join(dir, name), { force: true });
          orphans += 1;
        }
      }
    }
    return { temps, orphans };
  }

  /** Relative paths of every stored archive (for tests and stats). */
  async listArchives(): Promise<string[]> {
    const out: string[] = [];
    for (const sub of await fs.readdir(this.archives).catch(() => [] as string[])) {
      for (const name of await fs.readdir(path.join(this.archives, sub)).catch(() => [] as string[])) {
        out.push(`${sub}/${name}`);
      }
    }
    return out.sort();
  }

  async listTemps(): Promise<string[]> {
    return (await fs.readdir(this.tmp).catch(() => [] as string[])).sort();
  }
}
