/**
 * Opening the data dir: the folder (made if missing), the archive store,
 * the database, and the start-up sweep. Every failure is a DataDirError
 * carrying the system's error, and leaves nothing this start made: a
 * start that fails (here, or later, e.g. on a busy port) calls undo().
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { makeDir } from '../io/make-dir.js';
import { MarketDb } from './db.js';
import { ArchiveStore } from './store.js';

export const DB_FILE = 'marketplace.db';

/** The data dir could not be used; `cause` is the system's (or SQLite's) error. */
export class DataDirError extends Error {
  readonly dataDir: string;
  constructor(dataDir: string, cause: unknown) {
    super(`cannot use ${dataDir}: ${String((cause as Error)?.message ?? cause).split('\n')[0]}`, { cause });
    this.name = 'DataDirError';
    this.dataDir = dataDir;
  }
}

export interface Storage {
  db: MarketDb;
  store: ArchiveStore;
  swept: { temps: number; orphans: number };
  /** Remove `file` on undo() unless it exists now (for what a later step of the start may write). */
  trackNew(file: string): Promise<void>;
  /** Close the database and remove what this start made (only that). */
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

export async function openStorage(dataDir: string, now: number, log: (l: string) => void): Promise<Storage> {
  const made = new Made();
  let db: MarketDb | undefined;
  const undo = async () => {
    db?.close();
    await made.remove();
  };
  try {
    const top = await makeDir(dataDir);
    made.add(top);
    // A read-only disk or folder says so here (EROFS, EACCES), not as SQLite's lock or I/O error later.
    await fs.access(dataDir, fs.constants.W_OK);
    const store = new ArchiveStore(dataDir);
    const dbFile = path.join(dataDir, DB_FILE);
    const newDb = top === undefined && !(await exists(dbFile));
    for (const dir of await store.init()) if (top === undefined) made.add(dir);
    if (newDb) for (const suffix of ['', '-wal', '-shm', '-journal']) made.add(dbFile + suffix);
    db = new MarketDb(dbFile);
    db.purgeExpiredIdempotency(now);
    const swept = await store.sweep(db.referencedDigests());
    if (swept.temps || swept.orphans) {
      log(`start-up sweep removed ${swept.temps} temp file(s) and ${swept.orphans} unreferenced archive(s)`);
    }
    const trackNew = async (file: string) => {
      if (!(await exists(file))) made.add(file);
    };
    return { db, store, swept, trackNew, undo };
  } catch (err) {
    await undo();
    throw new DataDirError(dataDir, err);
  }
}
