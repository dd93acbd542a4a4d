/**
 * Filesystem errors as one-line user errors, in one place. Every command
 * goes through it: commands wrap the operation they know (`cannot write the
 * archive to dist`), and the error boundary in cli/main.ts maps any system
 * error that still reaches it, so an EROFS or ENOSPC is never an
 * "unexpected internal error" with a stack.
 */
import { CliError, errnoCode, WorkFailedError } from '../errors.js';

interface FsProblem {
  /** Stable error code for --json and scripts. */
  code: string;
  /** What the system said, in words. */
  says: string;
  /** What to do about it. */
  hint: string;
}

const PROBLEMS: Record<string, FsProblem> = {
  EXDEV: {
    code: 'CROSS_DEVICE',
    says: 'it is on another file system (a mount point or volume)',
    hint: 'this is a bug if it persists: report it; meanwhile create the files in a folder on the same disk and move them',
  },
  ENOTDIR: { code: 'NOT_A_DIRECTORY', says: 'a part of the path is a file, not a folder', hint: 'check the path: one of its parents is a file' },
  EROFS: { code: 'READ_ONLY_FS', says: 'the file system is read-only', hint: 'use a folder on a writable disk' },
  EACCES: { code: 'PERMISSION_DENIED', says: 'permission denied', hint: 'check the owner and permissions of the folder (ls -ld), or use another folder' },
  EPERM: { code: 'PERMISSION_DENIED', says: 'operation not permitted', hint: 'check the owner and permissions of the folder (ls -ld), or use another folder' },
  ENOSPC: { code: 'NO_SPACE', says: 'no space left on the device', hint: 'free some disk space, or use a folder on another disk' },
  EDQUOT: { code: 'NO_SPACE', says: 'the disk quota is used up', hint: 'free some disk space, or use a folder on another disk' },
  EISDIR: { code: 'IS_A_DIRECTORY', says: 'it is a folder, not a file', hint: 'move the folder out of the way, or choose another path' },
  ELOOP: { code: 'SYMLINK_LOOP', says: 'too many levels of symbolic links (a link points back at itself)', hint: 'fix or remove the looping symbolic link' },
  ENAMETOOLONG: { code: 'NAME_TOO_LONG', says: 'the path or a name in it is too long', hint: 'use a shorter path' },
  EMFILE: { code: 'TOO_MANY_OPEN_FILES', says: 'too many open files', hint: 'raise the open-file limit (ulimit -n) or close other programs, then run again' },
  ENFILE: { code: 'TOO_MANY_OPEN_FILES', says: 'the system has too many open files', hint: 'close other programs, then run again' },
  ENOENT: { code: 'NOT_FOUND', says: 'no such file or folder', hint: 'check the path' },
  EEXIST: { code: 'ALREADY_EXISTS', says: 'it already exists', hint: 'move it out of the way, or choose another path' },
  EBUSY: { code: 'BUSY', says: 'it is busy (in use or a mount point)', hint: 'close what uses it, or choose another path' },
  EIO: { code: 'IO_ERROR', says: 'an input/output error (a failing disk or network share)', hint: 'check the disk, then run again' },
  ETXTBSY: { code: 'BUSY', says: 'the file is in use', hint: 'close what uses it, then run again' },
};

/**
 * What a lower layer knows better than the errno: io/make-dir.ts and
 * io/atomic.ts mark an ENOENT from a folder that exists but refuses new
 * entries (/proc, /sys), and an EEXIST where a folder should be but a file is.
 */
const SAYS = Symbol('fs-errors.says');
type Says = Pick<FsProblem, 'says' | 'hint'> & { code?: string };

function mark<E extends object>(err: E, says: Says): E {
  return Object.assign(err, { [SAYS]: says });
}

/** Mark an ENOENT as coming from `dir`, a folder that exists but refuses new entries. */
export function markCannotHold<E extends object>(err: E, dir: string): E {
  return mark(err, { says: `${dir} cannot hold new files or folders`, hint: 'use a folder on an ordinary disk, not a virtual file system such as /proc' });
}

/** Mark an EEXIST as a file (or a dangling link) standing where a folder is needed. */
export function markNotAFolder<E extends object>(err: E): E {
  return mark(err, { says: 'it exists and is not a folder', hint: 'check the path: it names a file, not a folder', code: 'NOT_A_DIRECTORY' });
}

/** The system's error for a folder where a file is to be written, for the callers that find one before the write does. */
export function folderInPlace(file: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`EISDIR: ${file}`), { code: 'EISDIR', path: file });
}

/** The filesystem problem behind an error, if it is one this module knows. */
export function fsProblem(err: unknown): (FsProblem & { errno: string; path?: string }) | undefined {
  const errno = errnoCode(err);
  if (!errno || !(errno in PROBLEMS)) return undefined;
  const p = (err as { path?: unknown; dest?: unknown }).path;
  const said = (err as { [SAYS]?: Says })[SAYS];
  return { ...PROBLEMS[errno], ...said, errno, path: typeof p === 'string' ? p : undefined };
}

/**
 * A one-line user error for a filesystem failure: `cannot <action>: <what
 * the system said> (<ERRNO>)`. `action` names the operation and the path in
 * the user's terms; without it the error's own path is used. Undefined when
 * the error is not a filesystem error.
 */
export function fsError(err: unknown, action?: string, extra: { suffix?: string; hint?: string } = {}): WorkFailedError | undefined {
  const p = fsProblem(err);
  if (!p) return undefined;
  const what = action ?? (p.path ? `use ${p.path}` : 'complete a file operation');
  return new WorkFailedError(`cannot ${what}: ${p.says} (${p.errno})${extra.suffix ?? ''}`, {
    code: p.code,
    hint: extra.hint ?? p.hint,
    cause: err,
    details: { errno: p.errno, ...(p.path ? { path: p.path } : {}) },
  });
}

/** Where a command writes what the user named, for outputDirError and writingTo. */
export interface OutputTarget {
  /** The operation and path in the user's terms: `write the archive to dist`, `create the plugin in p`. */
  action: string;
  /** The folder (or file) written to, as the user gave it. */
  dir: string;
  /** The flag (or argument) that names it, as the way out: `--out <dir>`. */
  flag: string;
  /** Added to the message, e.g. `; nothing was written`. */
  suffix?: string;
}

/**
 * A failed write into an output path the user chose with a flag (`build
 * --out`, `deploy render --out`, `keys generate --out`, `marketplace
 * download --out`, `check --output`): a full disk is said as what happened
 * ("no space left on the device while writing to <dir>") with another disk
 * as the way out; any other problem is CANNOT_WRITE, worded as fsError words
 * it, with the flag added to its hint. Undefined when the error is not a
 * filesystem error.
 */
export function outputDirError(err: unknown, o: OutputTarget): WorkFailedError | undefined {
  const p = fsProblem(err);
  const base = fsError(err, o.action, { suffix: o.suffix });
  if (!p || !base) return undefined;
  const full = p.code === 'NO_SPACE';
  return new WorkFailedError(full ? `${p.says} while writing to ${o.dir}${o.suffix ?? ''}` : base.message, {
    code: full ? 'NO_SPACE' : 'CANNOT_WRITE',
    hint: full ? `free some disk space, or pass ${o.flag} on another disk` : `${p.hint}, or pass ${o.flag}`,
    cause: err,
    details: base.details,
  });
}

/**
 * Run a step that writes to an output path the user named; a filesystem
 * failure becomes outputDirError's one line (a CliError passes unchanged).
 */
export async function writingTo<T>(o: OutputTarget, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw outputDirError(err, o) ?? err;
  }
}
