/**
 * Reading a project file the user may have made anything of. The file is
 * opened non-blocking and checked with fstat on the open descriptor before
 * a byte is read, so a FIFO, a socket or a device named config/plugin.yaml,
 * .pluginignore or docs/README.md is refused at once (no hang, no race
 * between a check and the open), and a size cap stops a huge file early.
 */
import { constants, closeSync, fstatSync, openSync, readSync } from 'node:fs';
import fs from 'node:fs/promises';
import { WorkFailedError } from '../errors.js';

export class NotRegularFileError extends WorkFailedError {
  constructor(
    readonly file: string,
    readonly kind: string,
  ) {
    super(`${file} is ${kind}, not a regular file`, {
      code: 'NOT_A_REGULAR_FILE',
      hint: `replace ${file} with a regular file (a FIFO or device would never end)`,
      details: { file, kind },
    });
  }
}

function kindOf(st: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isDirectory(): boolean }): string {
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

const FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** Read a regular file whole; `shown` names it in messages (default: the path). */
export async function readRegularFile(file: string, opts: { shown?: string; maxBytes?: number } = {}): Promise<Buffer> {
  const h = await fs.open(file, FLAGS);
  try {
    const st = await h.stat();
    if (!st.isFile()) throw new NotRegularFileError(opts.shown ?? file, kindOf(st));
    if (opts.maxBytes !== undefined && st.size > opts.maxBytes) {
      // Read one byte more than the cap, so the caller sees it is over.
      const buf = Buffer.alloc(opts.maxBytes + 1);
      const { bytesRead } = await h.read(buf, 0, buf.length, 0);
      return buf.subarray(0, bytesRead);
    }
    return await h.readFile();
  } finally {
    await h.close();
  }
}

/** The synchronous twin, for the file-list walker. */
export function readRegularFileSync(file: string, opts: { shown?: string } = {}): Buffer {
  const fd = openSync(file, FLAGS);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new NotRegularFileError(opts.shown ?? file, kindOf(st));
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}
