/**
 * The blob store in the data dir: archives under <data>/archives/<aa>/<sha256>.zip,
 * named files at <data>/<name>. Uploads stream into <data>/tmp; an accepted one
 * is fsynced, renamed into place and its directory fsynced before the
 * database row is committed. One server per data dir (the database's lock),
 * so tmp/ and unreferenced archives are swept on start without a grace.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { writeFileAtomic } from '../../io/atomic.js';
import { readOptionalFile } from '../../io/read-file.js';
import { archiveKey, receiveFile, type BlobStore, type NamedFile, type Received, type StoredBlob, type SweepResult } from './blobs.js';

async function fsyncPath(p: string, flags = 'r'): Promise<void> {
  const fh = await fs.open(p, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class FolderBlobs implements BlobStore {
  readonly kind = 'folder' as const;
  readonly shared = false;
  readonly root: string;
  readonly archives: string;
  readonly tmp: string;

  constructor(dataDir: string) {
    this.root = dataDir;
    this.archives = path.join(dataDir, 'archives');
    this.tmp = path.join(dataDir, 'tmp');
  }

  get where(): string {
    return this.root;
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
    return path.join(this.root, ...archiveKey(sha256).split('/'));
  }

  receive(source: Readable, file: string, cap: number, opts: { signal?: AbortSignal; failAfter?: number } = {}): Promise<Received> {
    return receiveFile(source, file, cap, opts);
  }

  /** fsync the temp file, rename it to its content address, fsync the directory. */
  async commit(tempFile: string, sha256: string): Promise<void> {
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
    if (await this.has(sha256)) {
      // Same digest, same bytes: keep the stored one.
      await fs.rm(tempFile, { force: true });
      return;
    }
    await fsyncPath(tempFile, 'r+');
    await fs.rename(tempFile, final);
    await fsyncPath(dir);
  }

  async discardTemp(file: string | undefined): Promise<void> {
    if (file) await fs.rm(file, { force: true }).catch(() => undefined);
  }

  async remove(sha256: string): Promise<void> {
    await fs.rm(this.pathOf(sha256), { force: true }).catch(() => undefined);
  }

  async has(sha256: string): Promise<boolean> {
    return fs.access(this.pathOf(sha256)).then(
      () => true,
      () => false,
    );
  }

  async open(sha256: string): Promise<Readable> {
    // Opened here, so a missing file is an error of this call, not of the stream; the stream closes the handle.
    return (await fs.open(this.pathOf(sha256))).createReadStream();
  }

  read(sha256: string): Promise<Buffer> {
    return fs.readFile(this.pathOf(sha256));
  }

  async write(sha256: string, bytes: Buffer): Promise<void> {
    await fs.mkdir(path.dirname(this.pathOf(sha256)), { recursive: true });
    await writeFileAtomic(this.pathOf(sha256), bytes);
  }

  async list(): Promise<StoredBlob[]> {
    return (await this.entries()).map(({ file: _file, ...b }) => b);
  }

  /** Every file under archives/<aa>/, with where it is. */
  private async entries(): Promise<(StoredBlob & { file: string })[]> {
    const out: (StoredBlob & { file: string })[] = [];
    for (const sub of await fs.readdir(this.archives).catch(() => [] as string[])) {
      const dir = path.join(this.archives, sub);
      if (!(await fs.lstat(dir)).isDirectory()) continue;
      for (const name of await fs.readdir(dir)) {
        const sha256 = name.replace(/\.zip$/, '');
        const st = await fs.lstat(path.join(dir, name)).catch(() => undefined);
        if (st) out.push({ sha256, size: st.size, modified: st.mtimeMs, file: path.join(dir, name) });
      }
    }
    return out.sort((a, b) => a.sha256.localeCompare(b.sha256));
  }

  async local(sha256: string) {
    return { path: this.pathOf(sha256), release: async () => undefined };
  }

  private at(key: string): string {
    return path.join(this.root, ...key.split('/'));
  }

  async writeAt(key: string, bytes: Buffer): Promise<void> {
    await fs.mkdir(path.dirname(this.at(key)), { recursive: true });
    await writeFileAtomic(this.at(key), bytes);
  }

  async openAt(key: string): Promise<Readable> {
    return (await fs.open(this.at(key))).createReadStream();
  }

  readAt(key: string): Promise<Buffer> {
    return fs.readFile(this.at(key));
  }

  async getFile(name: NamedFile): Promise<Buffer | undefined> {
    return readOptionalFile(path.join(this.root, name), { maxBytes: 1024 * 1024 });
  }

  async putFile(name: NamedFile, bytes: Buffer): Promise<void> {
    await writeFileAtomic(path.join(this.root, name), bytes, { mode: 0o600 });
  }

  /** Remove leftovers of a crash: temp uploads and archives no row refers to (older than graceMs). */
  async sweep(referenced: () => Promise<Set<string>>, graceMs: number): Promise<SweepResult> {
    let temps = 0;
    let orphans = 0;
    for (const name of await fs.readdir(this.tmp).catch(() => [] as string[])) {
      await fs.rm(path.join(this.tmp, name), { recursive: true, force: true });
      temps += 1;
    }
    const stored = await this.entries();
    const refs = await referenced();
    const before = Date.now() - graceMs;
    for (const b of stored) {
      if (refs.has(b.sha256) || (graceMs > 0 && b.modified > before)) continue;
      await fs.rm(b.file, { force: true });
      orphans += 1;
    }
    return { temps, orphans };
  }

  /** Relative paths of every stored archive (for tests and stats). */
  async listArchives(): Promise<string[]> {
    return (await this.list()).map((b) => archiveKey(b.sha256).slice('archives/'.length));
  }

  async listTemps(): Promise<string[]> {
    return (await fs.readdir(this.tmp).catch(() => [] as string[])).sort();
  }

  async close(): Promise<void> {}
}
