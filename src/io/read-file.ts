/**
 * The one way the CLI reads a file the user may have made anything of: the
 * manifest, CHANGELOG.md, a --signature, --keyring or --key file, an
 * --against or --archive archive, a .sha256 sidecar, the credentials and
 * config files, check's config, deploy's sources, the templates. The file is
 * opened non-blocking and checked with fstat on the open descriptor before a
 * byte is read, so a FIFO, a socket, a device or a folder is refused at once
 * (no hang: a FIFO's open never waits for a writer, and no race between a
 * check and the open), and a size cap stops a huge or endless file early
 * (only the cap plus one byte is ever read, whatever the file says its size is).
 */
import { constants, closeSync, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import { CliError, ExitCode, errnoCode } from '../errors.js';

/** How a refusal is worded and coded: a flag's file is a usage error (exit 2), a project file a failed run (exit 1). */
export interface RefuseAs {
  /** The file as messages name it (default: the path). */
  shown?: string;
  /** The error code (default NOT_A_REGULAR_FILE). */
  code?: string;
  /** Exit 2 instead of 1 (the path came from a flag). */
  usage?: boolean;
  /** What to do (default: replace it with a regular file). */
  hint?: string;
}

export class NotRegularFileError extends CliError {
  constructor(
    readonly file: string,
    readonly kind: string,
    as: Omit<RefuseAs, 'shown'> = {},
  ) {
    super(`${file} is ${kind}, not a regular file`, as.usage ? ExitCode.usage : ExitCode.failed, {
      code: as.code ?? 'NOT_A_REGULAR_FILE',
      hint:
        as.hint ??
        (kind === 'a folder'
          ? `move the folder ${file} out of the way and put the file there, or pass the path of a file`
          : `replace ${file} with a regular file (a named pipe, socket or device is never read: it could block or never end)`),
      details: { file, kind },
    });
  }
}

export class FileTooLargeError extends CliError {
  constructor(file: string, maxBytes: number, as: Omit<RefuseAs, 'shown'> = {}) {
    super(`${file} is larger than ${maxBytes} bytes`, as.usage ? ExitCode.usage : ExitCode.failed, {
      code: as.code ?? 'FILE_TOO_LARGE',
      hint: as.hint ?? `check that ${file} is the file you meant: it is too large for what it is`,
      details: { file, maxBytes },
    });
  }
}

type Kinded = Pick<Stats, 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice' | 'isDirectory'>;

export function kindOf(st: Kinded): string {
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isDirectory()) return 'a folder';
  return 'not a regular file';
}

/** O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer (no effect on regular files). */
const FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

export interface ReadOptions extends RefuseAs {
  /** Read at most this many bytes. */
  maxBytes?: number;
  /** Over maxBytes: 'refuse' (default) throws FileTooLargeError; 'truncate' returns maxBytes + 1 bytes for the caller to judge. */
  over?: 'refuse' | 'truncate';
}

/** The open of a socket fails with ENXIO: say what it is, as for the others. */
function openError(err: unknown, file: string, as: RefuseAs): unknown {
  if (errnoCode(err) !== 'ENXIO' && errnoCode(err) !== 'EOPNOTSUPP') return err;
  try {
    return new NotRegularFileError(as.shown ?? file, kindOf(statSync(file)), as);
  } catch {
    return err;
  }
}

/**
 * Open a file for reading only when it is a regular file (after the open,
 * on the descriptor). ENOENT and the other system errors pass through.
 */
export async function openRegularFile(file: string, as: RefuseAs = {}): Promise<{ handle: fs.FileHandle; stat: Stats }> {
  const handle = await fs.open(file, FLAGS).catch((err: unknown) => {
    throw openError(err, file, as);
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new NotRegularFileError(as.shown ?? file, kindOf(stat), as);
    return { handle, stat };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}

const CHUNK = 64 * 1024;

/** Read a regular file whole (within maxBytes); `shown` names it in messages (default: the path). */
export async function readRegularFile(file: string, opts: ReadOptions = {}): Promise<Buffer> {
  const { handle, stat } = await openRegularFile(file, opts);
  try {
    const cap = opts.maxBytes;
    if (cap === undefined) return await handle.readFile();
    // Read to the end or one byte over the cap, whatever the size said (a file that grows, /proc).
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(Math.max(stat.size - total, CHUNK), cap + 1 - total));
      if (buf.length === 0) break;
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      chunks.push(buf.subarray(0, bytesRead));
      total += bytesRead;
      if (total > cap) break;
    }
    const data = Buffer.concat(chunks, total);
    if (total > cap && opts.over !== 'truncate') throw new FileTooLargeError(opts.shown ?? file, cap, opts);
    return data;
  } finally {
    await handle.close();
  }
}

/** As readRegularFile, as UTF-8 text without a byte-order mark. */
export async function readRegularText(file: string, opts: ReadOptions = {}): Promise<string> {
  return (await readRegularFile(file, opts)).toString('utf8').replace(/^\uFEFF/, '');
}

/** As readRegularFile; undefined when the file does not exist. */
export async function readOptionalFile(file: string, opts: ReadOptions = {}): Promise<Buffer | undefined> {
  try {
    return await readRegularFile(file, opts);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** The synchronous twin, for the file-list walker and start-up. */
export function readRegularFileSync(file: string, opts: ReadOptions = {}): Buffer {
  let fd: number;
  try {
    fd = openSync(file, FLAGS);
  } catch (err) {
    throw openError(err, file, opts);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new NotRegularFileError(opts.shown ?? file, kindOf(st), opts);
    const cap = opts.maxBytes ?? Number.MAX_SAFE_INTEGER;
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(Math.max(st.size - total, CHUNK), cap + 1 - total));
      if (buf.length === 0) break;
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > cap) break;
    }
    if (total > cap && opts.over !== 'truncate') throw new FileTooLargeError(opts.shown ?? file, cap, opts);
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}
