import { createHash } from 'node:crypto';
import { openRegularFile } from '../io/read-file.js';
import { count } from '../io/counters.js';

/**
 * sha256 and size of a file, read through one reused 1 MiB buffer: memory
 * stays flat whatever the size (a read stream allocates a new chunk per
 * read and lets garbage pile up to V8's external-memory limit).
 */
export async function fileDigest(file: string): Promise<{ sha256: string; size: number }> {
  count('archive.hash');
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(1024 * 1024);
  let size = 0;
  // Opened by the one reader: a FIFO or device in the archive's place is refused, never read forever.
  const { handle: fh } = await openRegularFile(file);
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return { sha256: hash.digest('hex'), size };
}
