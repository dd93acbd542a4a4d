/**
 * The blob store: content-addressed archives (`archives/<aa>/<sha256>.zip`)
 * and the few named files the server keeps (its signing key). Two
 * implementations: a folder in the data dir (folder-blobs.ts, the default)
 * and an S3-compatible bucket under a prefix (s3-blobs.ts), shared by replicas.
 *
 * An upload is received into a local temp file (hashed and counted as it
 * arrives, read by the archive checks), then commit() stores it under its
 * digest, durably, before the row that names it is inserted. Bytes under a
 * digest are those bytes, so two writers of one digest cannot disagree: the
 * bucket needs no conditional writes. What no row names is garbage, removed
 * by sweep(); in a shared store only after a grace period, since another
 * replica may have stored it a moment ago for a row it is about to insert.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { count } from '../../io/counters.js';

export interface Received {
  sha256: string;
  size: number;
  /** True when the source went over the byte cap (the file holds only part of it). */
  truncated: boolean;
}

export interface StoredBlob {
  sha256: string;
  size: number;
  /** Epoch ms of the last write. */
  modified: number;
}

export interface SweepResult {
  temps: number;
  orphans: number;
}

/** The named files a store may hold besides archives (copied by migration). */
export const NAMED_FILES = ['signing-key.pem'] as const;
export type NamedFile = (typeof NAMED_FILES)[number];

export const SHA256_RE = /^[0-9a-f]{64}$/;

/** The key of an archive under the store's root: archives/<first two hex>/<sha256>.zip. */
export function archiveKey(sha256: string): string {
  return `archives/${sha256.slice(0, 2)}/${sha256}.zip`;
}

/** The key of an upload's SBOM or provenance envelope: attestations/<aa>/<sha256><ext> (server/attestations.ts). */
export function attestationKey(sha256: string, ext: string): string {
  return `attestations/${sha256.slice(0, 2)}/${sha256}${ext}`;
}

export interface BlobStore {
  readonly kind: 'folder' | 's3';
  /** Other processes use it too: an archive no row names is left to the sweep's grace, never removed at once. */
  readonly shared: boolean;
  /** Where the store is, for messages (a folder, or s3://bucket/prefix). */
  readonly where: string;
  /** A new local temp file name for an upload. */
  tempPath(): string;
  receive(source: Readable, file: string, cap: number, opts?: { signal?: AbortSignal; failAfter?: number }): Promise<Received>;
  /** Store a received temp file under its digest, durably; the temp file is gone afterwards. */
  commit(tempFile: string, sha256: string): Promise<void>;
  discardTemp(file: string | undefined): Promise<void>;
  /** Remove an archive (an unshared store's, that no row names). */
  remove(sha256: string): Promise<void>;
  has(sha256: string): Promise<boolean>;
  open(sha256: string): Promise<Readable>;
  read(sha256: string): Promise<Buffer>;
  /** Store bytes under their digest (migration); the caller has checked them. */
  write(sha256: string, bytes: Buffer): Promise<void>;
  list(): Promise<StoredBlob[]>;
  /** A local file holding the archive (the store's own, or a temp copy that release() removes). */
  local(sha256: string): Promise<{ path: string; release(): Promise<void> }>;
  /** Content-addressed files besides archives (an upload's SBOM and provenance), by key (attestationKey). */
  writeAt(key: string, bytes: Buffer): Promise<void>;
  openAt(key: string): Promise<Readable>;
  readAt(key: string): Promise<Buffer>;
  getFile(name: NamedFile): Promise<Buffer | undefined>;
  putFile(name: NamedFile, bytes: Buffer): Promise<void>;
  /** Remove temp uploads left by a crash (unshared store) and archives no row names, older than graceMs. */
  sweep(referenced: () => Promise<Set<string>>, graceMs: number): Promise<SweepResult>;
  listTemps(): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * Stream `source` into `file`, hashing and counting. Stops writing once
 * more than `cap` bytes arrived (truncated: true); the caller answers 413.
 */
export async function receiveFile(source: Readable, file: string, cap: number, opts: { signal?: AbortSignal; failAfter?: number } = {}): Promise<Received> {
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
