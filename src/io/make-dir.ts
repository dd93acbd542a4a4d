/**
 * `mkdir -p` that always ends. Node's recursive mkdir loops forever (at full
 * CPU, no output) when a folder's parent exists but refuses the child with
 * ENOENT, as /proc does: it takes ENOENT to mean "the parent is missing",
 * makes the parent (EEXIST), and tries the child again. This walks down from
 * the deepest existing ancestor one level at a time, so every failure is
 * final and carries the path that failed.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../errors.js';
import { markCannotHold, markNotAFolder } from './fs-errors.js';

function failure(code: string, message: string, p: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${message}, mkdir '${p}'`), { code, path: p, syscall: 'mkdir' });
}

/** The missing folders from the deepest existing ancestor of `dir` down to `dir`, outermost first. */
async function missingChain(dir: string): Promise<string[]> {
  const missing: string[] = [];
  for (let cur = dir; ; cur = path.dirname(cur)) {
    let st;
    try {
      st = await fs.stat(cur);
    } catch (err) {
      // ENOTDIR: some parent is a file; walk up to it, so the error names it.
      const code = errnoCode(err);
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || path.dirname(cur) === cur) throw err;
      missing.unshift(cur);
      continue;
    }
    if (st.isDirectory()) return missing;
    throw missing.length === 0 ? markNotAFolder(failure('EEXIST', 'file already exists', cur)) : failure('ENOTDIR', 'not a directory', cur);
  }
}

/**
 * Make `dir` and its missing parents (with `mode`, as mkdir -m). Every
 * command that makes a folder a user named uses this. Returns the outermost folder it
 * created (remove it to undo), or undefined when `dir` already existed.
 */
export async function makeDir(dir: string, opts: { mode?: number } = {}): Promise<string | undefined> {
  const abs = path.resolve(dir);
  const missing = await missingChain(abs);
  let first: string | undefined;
  for (const d of missing) {
    try {
      await fs.mkdir(d, opts.mode === undefined ? undefined : { mode: opts.mode });
      first ??= d;
    } catch (err) {
      const code = errnoCode(err);
      // The parent exists (it was there or was just made): ENOENT means it cannot hold folders.
      if (code === 'ENOENT') throw markCannotHold(failure('ENOENT', `${path.dirname(d)} cannot hold new folders`, d), path.dirname(d));
      if (code === 'EEXIST') {
        const st = await fs.stat(d).catch(() => undefined);
        if (st?.isDirectory()) continue;
        // A dangling symbolic link, or a file made meanwhile.
        throw markNotAFolder(failure('EEXIST', 'exists and is not a folder', d));
      }
      throw err;
    }
  }
  return first;
}
