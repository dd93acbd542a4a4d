/**
 * An exclusive lock between runs of the CLI: a lock file created with
 * O_EXCL that holds the owner's pid. A second run waits for it (up to
 * `waitMs`, polling), then fails; a lock whose pid no longer runs (a run
 * killed with -9) is stale and taken over. Released by removing the file.
 */
import fs from 'node:fs/promises';
import { errnoCode } from '../errors.js';

export interface HeldLock {
  release(): Promise<void>;
}

export type LockOutcome = { held: HeldLock } | { busy: true; pid?: number };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/** The pid in a lock file; undefined while its owner is still writing it (or when unreadable). */
async function ownerOf(file: string): Promise<{ pid?: number; ageMs: number } | undefined> {
  try {
    const [text, st] = await Promise.all([fs.readFile(file, 'utf8'), fs.lstat(file)]);
    const pid = /^\d+/.exec(text.trim())?.[0];
    return { pid: pid === undefined ? undefined : Number(pid), ageMs: Date.now() - st.mtimeMs };
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** One attempt: take the lock, or say who holds it. A stale lock is removed and taken. */
async function tryLock(file: string): Promise<LockOutcome> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const h = await fs.open(file, 'wx', 0o600);
      try {
        await h.writeFile(`${process.pid}\n`);
      } finally {
        await h.close();
      }
      let released = false;
      return {
        held: {
          async release() {
            if (released) return;
            released = true;
            await fs.rm(file, { force: true });
          },
        },
      };
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
    const owner = await ownerOf(file);
    if (owner === undefined) continue; // removed meanwhile: try again
    // A lock without a pid for long, or whose pid is gone, is stale.
    const stale = owner.pid === undefined ? owner.ageMs > 5_000 : owner.pid !== process.pid && !alive(owner.pid);
    if (!stale) return { busy: true, pid: owner.pid };
    // Remove it only if it is still the same stale lock (another run may have taken it over just now).
    const again = await ownerOf(file);
    if (again && again.pid === owner.pid) await fs.rm(file, { force: true });
  }
  return { busy: true };
}

/** Take the lock, waiting up to waitMs for another run to release it; { busy } when it did not. */
export async function acquireLock(file: string, opts: { waitMs: number; signal?: AbortSignal; pollMs?: number }): Promise<LockOutcome> {
  const until = Date.now() + opts.waitMs;
  for (;;) {
    const got = await tryLock(file);
    if ('held' in got || Date.now() >= until) return got;
    opts.signal?.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, opts.pollMs ?? 50));
    opts.signal?.throwIfAborted();
  }
}
