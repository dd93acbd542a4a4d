import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { errnoCode, WorkFailedError } from '../errors.js';

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
 * Write a file so that the final path only ever holds a complete version:
 * a unique temp name in the same directory, fsync, chmod, rename. A crash,
 * a full disk or a concurrent writer never leaves a torn file behind; the
 * temp file is removed on failure.
 */
export async function writeFileAtomic(
  file: string,
  content: string | Buffer,
  opts: { mode?: number; dirMode?: number } = {},
): Promise<void> {
  try {
    await write(file, content, opts);
  } catch (err) {
    const code = errnoCode(err);
    if (code && code in HINTS) {
      throw new WorkFailedError(`cannot write ${file} (${code})`, { code: 'WRITE_FAILED', hint: HINTS[code], cause: err });
    }
    throw err;
  }
}

async function write(file: string, content: string | Buffer, opts: { mode?: number; dirMode?: number }): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true, ...(opts.dirMode !== undefined ? { mode: opts.dirMode } : {}) });
  if (opts.dirMode !== undefined) await fs.chmod(dir, opts.dirMode).catch(() => undefined);
  const mode = opts.mode ?? 0o644;
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(8).toString('hex')}.tmp`);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(tmp, 'wx', mode);
    await handle.writeFile(content);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.chmod(tmp, mode);
    await fs.rename(tmp, file);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}
