/**
 * Atomic file writes: write a temp file in the destination's folder, fsync,
 * then rename over the final name. A failed or killed writer never leaves
 * a partial file under the final name; on an error the temp file is
 * removed. Temp names are `<final>.partial-<pid>-<random>`, so a later run
 * can remove what a killed process (kill -9) left behind.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../errors.js';
import { folderInPlace, markCannotHold } from './fs-errors.js';
import { makeDir } from './make-dir.js';

export interface AtomicFile {
  /** The temp file being written. */
  readonly tempPath: string;
  readonly finalPath: string;
  readonly handle: fs.FileHandle;
  /** fsync, close and rename into place. */
  commit(): Promise<void>;
  /** Close and remove the temp file (safe to call more than once, and after commit). */
  abort(): Promise<void>;
}

export async function openAtomic(finalPath: string, mode = 0o644): Promise<AtomicFile> {
  const tempPath = `${finalPath}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  const handle = await fs.open(tempPath, 'wx', mode).catch(async (err: unknown) => {
    // ENOENT in a folder that is there: it refuses new files (/proc), said as such by io/fs-errors.ts.
    const dir = path.dirname(finalPath);
    if (errnoCode(err) === 'ENOENT' && (await fs.stat(dir).catch(() => undefined))?.isDirectory()) throw markCannotHold(err as NodeJS.ErrnoException, dir);
    throw err;
  });
  let state: 'open' | 'committed' | 'aborted' = 'open';
  const file: AtomicFile = {
    tempPath,
    finalPath,
    handle,
    async commit() {
      if (state !== 'open') throw new Error(`atomic write of ${finalPath} already ${state}`);
      try {
        await handle.sync();
        await handle.close();
        await fs.rename(tempPath, finalPath);
        state = 'committed';
      } catch (err) {
        await file.abort();
        throw err;
      }
      await syncDir(path.dirname(finalPath));
    },
    async abort() {
      if (state !== 'open') return;
      state = 'aborted';
      await handle.close().catch(() => undefined);
      await fs.rm(tempPath, { force: true }).catch(() => undefined);
    },
  };
  return file;
}

/**
 * Would a later openAtomic(finalPath) (its folder made with makeDir) work?
 * Tried for real, and undone: the folders made and a temp file are removed,
 * so a command that works long before it writes (check --output) can fail
 * at once with the error the write would get. A folder at finalPath is EISDIR.
 */
export async function probeWrite(finalPath: string): Promise<void> {
  const made = await makeDir(path.dirname(finalPath));
  try {
    if ((await fs.lstat(finalPath).catch(() => undefined))?.isDirectory()) {
      throw folderInPlace(finalPath);
    }
    await (await openAtomic(finalPath)).abort();
  } finally {
    if (made) await fs.rm(made, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * Write a whole file atomically. With `makeFolder`, its folder is made first
 * (makeDir) and, when the write fails, the folders this call made are removed:
 * nothing is left behind.
 */
export async function writeFileAtomic(finalPath: string, data: string | Buffer, opts: { mode?: number; makeFolder?: boolean } = {}): Promise<void> {
  const made = opts.makeFolder ? await makeDir(path.dirname(finalPath)) : undefined;
  try {
    const f = await openAtomic(finalPath, opts.mode);
    try {
      await f.handle.writeFile(data);
    } catch (err) {
      await f.abort();
      throw err;
    }
    await f.commit();
  } catch (err) {
    if (made) await fs.rm(made, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
}

/** Remove temp files of `finalPath` left by processes that no longer run. */
export async function removeStalePartials(finalPath: string): Promise<void> {
  const dir = path.dirname(finalPath);
  const prefix = `${path.basename(finalPath)}.partial-`;
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || isAlive(pid)) continue;
    await fs.rm(path.join(dir, name), { force: true }).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function syncDir(dir: string): Promise<void> {
  try {
    const h = await fs.open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    // Not every platform or file system can fsync a directory; the rename is still atomic.
  }
}
