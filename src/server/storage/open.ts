/**
 * Opening the storage the server runs on: a data dir (SQLite + folder, the
 * default) or PostgreSQL + an S3-compatible bucket (shared by replicas).
 *
 * Data dir: the folder (made if missing), the archive store, the database,
 * and the start-up sweep. Every failure is a DataDirError carrying the
 * system's error, and leaves nothing this start made: a start that fails
 * (here, or later, e.g. on a busy port) calls undo().
 *
 * Shared: connect, migrate the schema (advisory lock), check the bucket;
 * a failure is a StorageError. The sweep then runs under the start-up lock
 * with the grace period (another replica may be mid-upload).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { makeDir } from '../../io/make-dir.js';
import { SqliteMeta } from './sqlite-meta.js';
import { FolderBlobs } from './folder-blobs.js';
import type { BlobStore, SweepResult } from './blobs.js';
import type { MetaStore } from './meta.js';

export const DB_FILE = 'marketplace.db';

/** How long an archive no row names is kept in a shared store before the sweep removes it (default 1 hour). */
export const DEFAULT_SWEEP_GRACE_MS = 60 * 60 * 1000;

export type StorageConfig =
  | { kind: 'data-dir'; dataDir: string }
  | {
      kind: 'shared';
      /** postgres://user@host:port/db (the password from PGPASSWORD or ~/.pgpass). */
      database: string;
      /** s3://bucket/prefix */
      blobs: string;
      s3Endpoint?: string;
      sweepGraceMs?: number;
    };

/** The data dir could not be used; `cause` is the system's (or SQLite's) error. */
export class DataDirError extends Error {
  readonly dataDir: string;
  constructor(dataDir: string, cause: unknown) {
    super(`cannot use ${dataDir}: ${firstLine(cause)}`, { cause });
    this.name = 'DataDirError';
    this.dataDir = dataDir;
  }
}

/** The database or the bucket could not be used; `part` says which. */
export class StorageError extends Error {
  readonly part: 'database' | 'blobs';
  constructor(part: 'database' | 'blobs', cause: unknown) {
    super(`cannot use the ${part === 'database' ? 'database' : 'blob store'}: ${firstLine(cause)}`, { cause });
    this.name = 'StorageError';
    this.part = part;
  }
}

function firstLine(cause: unknown): string {
  const e = cause as { message?: string; code?: string; errors?: { message?: string }[] };
  // AggregateError (a refused connection on every address) has an empty message of its own.
  const msg = e?.message || e?.errors?.[0]?.message || e?.code || String(cause);
  return String(msg).split('\n')[0];
}

export interface Storage {
  meta: MetaStore;
  blobs: BlobStore;
  swept: SweepResult;
  /** Remove `file` on undo() unless it exists now (for what a later step of a data dir's start may write). */
  trackNew(file: string): Promise<void>;
  /** Close the stores and remove what this start made (only that). */
  undo(this: void): Promise<void>;
}

const exists = (p: string) =>
  fs.lstat(p).then(
    () => true,
    () => false,
  );

/** What opening made, to remove on failure: the outermost new folder, or the new parts inside an old one. */
class Made {
  private readonly paths: string[] = [];
  add(p: string | undefined): void {
    if (p !== undefined) this.paths.push(p);
  }
  async remove(): Promise<void> {
    for (const p of this.paths.reverse()) await fs.rm(p, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * Open the metadata and blob stores of `config` and migrate the schema; unless
 * `maintain` is false (a copy's source), purge expired idempotency records and sweep.
 */
export async function openStorage(config: StorageConfig, now: () => number, log: (l: string) => void, maintain = true): Promise<Storage> {
  const storage = config.kind === 'data-dir' ? await openDataDir(config.dataDir, now) : await openShared(config, now, log);
  if (!maintain) return storage;
  const grace = config.kind === 'data-dir' ? 0 : (config.sweepGraceMs ?? DEFAULT_SWEEP_GRACE_MS);
  try {
    await storage.meta.purgeExpiredIdempotency(now());
    storage.swept = await storage.meta.exclusive(() => storage.blobs.sweep(() => storage.meta.referencedDigests(), grace));
  } catch (err) {
    await storage.undo();
    throw config.kind === 'data-dir' ? new DataDirError(config.dataDir, err) : new StorageError('blobs', err);
  }
  const { temps, orphans } = storage.swept;
  if (temps || orphans) log(`start-up sweep removed ${temps} temp file(s) and ${orphans} unreferenced archive(s)`);
  return storage;
}

async function openDataDir(dataDir: string, now: () => number): Promise<Storage> {
  const made = new Made();
  let meta: SqliteMeta | undefined;
  const undo = async () => {
    await meta?.close();
    await made.remove();
  };
  try {
    const top = await makeDir(dataDir);
    made.add(top);
    // A read-only disk or folder says so here (EROFS, EACCES), not as SQLite's lock or I/O error later.
    await fs.access(dataDir, fs.constants.W_OK);
    const blobs = new FolderBlobs(dataDir);
    const dbFile = path.join(dataDir, DB_FILE);
    const newDb = top === undefined && !(await exists(dbFile));
    for (const dir of await blobs.init()) if (top === undefined) made.add(dir);
    if (newDb) for (const suffix of ['', '-wal', '-shm', '-journal']) made.add(dbFile + suffix);
    meta = new SqliteMeta(dbFile, now);
    const trackNew = async (file: string) => {
      if (!(await exists(file))) made.add(file);
    };
    return { meta, blobs, swept: { temps: 0, orphans: 0 }, trackNew, undo };
  } catch (err) {
    await undo();
    throw new DataDirError(dataDir, err);
  }
}

async function openShared(config: Extract<StorageConfig, { kind: 'shared' }>, now: () => number, log: (l: string) => void): Promise<Storage> {
  const { PgMeta } = await import('./pg-meta.js');
  const { S3Blobs } = await import('./s3-blobs.js');
  let meta: MetaStore;
  try {
    const opened = await PgMeta.open(config.database, now);
    meta = opened.meta;
    if (opened.applied.length) log(`database schema migrated to version ${opened.applied[opened.applied.length - 1]}`);
  } catch (err) {
    throw new StorageError('database', err);
  }
  let blobs: BlobStore;
  try {
    blobs = await S3Blobs.open(config.blobs, { endpoint: config.s3Endpoint });
  } catch (err) {
    await meta.close();
    throw new StorageError('blobs', err);
  }
  const undo = async () => {
    await meta.close();
    await blobs.close();
  };
  return { meta, blobs, swept: { temps: 0, orphans: 0 }, trackNew: async () => undefined, undo };
}
