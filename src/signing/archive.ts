/**
 * The facts about an archive that a signature covers: the file's sha256 and
 * size, and the sha256 of its member list (plexichat-integrity.json, which
 * names every member with its size and sha256). Reads the file; nothing else.
 */
import { createHash } from 'node:crypto';
import yauzl from 'yauzl';
import { fileDigest } from '../core/digest.js';
import { count } from '../io/counters.js';
import { INTEGRITY_PATH, MAX_INTEGRITY_BYTES } from '../core/package/integrity.js';

export interface ArchiveFacts {
  sha256: string;
  size: number;
  /** sha256 of the integrity listing member, null when the archive has none (or cannot be read as a zip). */
  contentsSha256: string | null;
}

/** `known`: the file's sha256 and size when the caller just computed them (build), so it is not read twice. */
export async function archiveFacts(file: string, known?: { sha256: string; size: number }): Promise<ArchiveFacts> {
  const [digest, contentsSha256] = await Promise.all([known ?? fileDigest(file), listingDigest(file)]);
  return { sha256: digest.sha256, size: digest.size, contentsSha256 };
}

/** The facts a signature covers, from a verify run that hashed the file (hashFile) and read the listing. */
export function factsOf(report: { archive?: { sha256: string; size: number }; listingSha256: string | null }): ArchiveFacts | undefined {
  return report.archive ? { sha256: report.archive.sha256, size: report.archive.size, contentsSha256: report.listingSha256 } : undefined;
}

/** sha256 of the integrity listing's bytes, found through the central directory. */
async function listingDigest(file: string): Promise<string | null> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false, validateEntrySizes: true });
  } catch {
    return null;
  }
  try {
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName !== INTEGRITY_PATH) continue;
      if (entry.uncompressedSize > MAX_INTEGRITY_BYTES) return null;
      count('archive.inflate');
      const hash = createHash('sha256');
      const stream = await zip.openReadStreamPromise(entry);
      let n = 0;
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        n += chunk.length;
        if (n > MAX_INTEGRITY_BYTES) return null;
        hash.update(chunk);
      }
      return hash.digest('hex');
    }
    return null;
  } catch {
    return null;
  } finally {
    zip.close();
  }
}
