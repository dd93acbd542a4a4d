import fs from 'node:fs/promises';
import path from 'node:path';
import { errnoCode, WorkFailedError } from '../errors.js';
import { writeFileAtomic as writeAtomic } from '../io/atomic.js';

const HINTS: Record<string, string> = {
  EACCES: 'check the permissions of the folder',
  EPERM: 'check the permissions of the folder',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full: free some space',
  EDQUOT: 'the disk quota is used up: free some space',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a part of the path is a file, not a folder',
  EISDIR: 'the path is a folder',
};

/**
 * Write a file so that the final path only ever holds a complete version
 * (src/io/atomic.ts: temp file in the same directory, fsync, rename), after
 * creating its directory with dirMode; write errors become one clear line.
 */
export async function writeFileAtomic(
  file: string,
  content: string | Buffer,
  opts: { mode?: number; dirMode?: number } = {},
): Promise<void> {
  try {
    const dir = path.dirname(file);
    await fs.mkdir(dir, { recursive: true, ...(opts.dirMode !== undefined ? { mode: opts.dirMode } : {}) });
    if (opts.dirMode !== undefined) await fs.chmod(dir, opts.dirMode).catch(() => undefined);
    await writeAtomic(file, content, { mode: opts.mode ?? 0o644 });
  } catch (err) {
    const code = errnoCode(err);
    if (code && code in HINTS) {
      throw new WorkFailedError(`cannot write ${file} (${code})`, { code: 'WRITE_FAILED', hint: HINTS[code], cause: err });
    }
    throw err;
  }
}
