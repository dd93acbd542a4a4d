import fs from 'node:fs/promises';
import path from 'node:path';
import { WorkFailedError } from '../errors.js';
import { fsError } from '../io/fs-errors.js';
import { writeFileAtomic as writeAtomic } from '../io/atomic.js';
import { makeDir } from '../io/make-dir.js';

/**
 * Write a file so that the final path only ever holds a complete version
 * (src/io/atomic.ts: temp file in the same directory, fsync, rename), after
 * creating its directory with dirMode; write errors become one clear line.
 */
export async function writeFileAtomic(file: string, content: string | Buffer, opts: { mode?: number; dirMode?: number } = {}): Promise<void> {
  try {
    const dir = path.dirname(file);
    await makeDir(dir, { mode: opts.dirMode });
    if (opts.dirMode !== undefined) await fs.chmod(dir, opts.dirMode).catch(() => undefined);
    await writeAtomic(file, content, { mode: opts.mode ?? 0o644 });
  } catch (err) {
    const mapped = fsError(err, `write ${file}`);
    if (mapped) throw new WorkFailedError(mapped.message, { code: 'WRITE_FAILED', hint: mapped.hint, cause: err, details: mapped.details });
    throw err;
  }
}
