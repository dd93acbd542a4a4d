/**
 * A cache of code-scan results, so `validate` followed by `build` (or a
 * second `build`) does not start Python again when no module changed. The
 * key is a digest of the content of every .py file scanned (with its path),
 * the interpreter candidates (path and modification time) and the scanner
 * itself: an edit is seen even when it keeps the size and the modification
 * time (bench/validate-cache.mjs shows what reading the files costs). It
 * lives in $PLEXICHAT_CACHE_DIR, else the user cache dir (io/dirs.ts:
 * $XDG_CACHE_HOME/plexichat-plugin, else ~/.cache/plexichat-plugin);
 * PLEXICHAT_CACHE_DIR=off turns it off. Any cache problem means a miss.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';

/** A file to scan: its name in the project (forward slashes) and where its bytes are. */
export interface SourceFile {
  rel: string;
  abs: string;
}

/** Files read at once while hashing: enough to hide latency, few enough for any fd limit. */
const PARALLEL = 16;

/** Digest of the inputs of a scan; undefined when a file cannot be read (the scanner then reports it, uncached). */
export async function fingerprint(files: SourceFile[], candidates: string[], script: string): Promise<string | undefined> {
  const digests = new Array<string | undefined>(files.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < files.length; i = next++) {
      const data = await readFile(files[i].abs).catch(() => undefined);
      digests[i] = data && createHash('sha256').update(data).digest('hex');
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, files.length) }, worker));
  if (digests.some((d) => d === undefined)) return undefined;
  const h = createHash('sha256');
  h.update(script);
  for (const c of candidates) {
    const st = await stat(c).catch(() => undefined);
    h.update(`python\0${c}\0${st?.mtimeMs ?? 'missing'}\n`);
  }
  files.forEach((f, i) => h.update(`${f.rel}\0${f.abs}\0${digests[i]}\n`));
  return h.digest('hex');
}
