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
import path from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { userDir } from '../io/dirs.js';
import { makeDir } from '../io/make-dir.js';

/** A file to scan: its name in the project (forward slashes) and where its bytes are. */
export interface SourceFile {
  rel: string;
  abs: string;
}

export function cacheDir(env: NodeJS.ProcessEnv): string | undefined {
  const own = env.PLEXICHAT_CACHE_DIR;
  if (own !== undefined) return own === '' || own === 'off' || own === '0' ? undefined : path.resolve(own);
  return userDir('cache', env);
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

/** One entry per project and kind ('scan': the code scan; 'python': the interpreter chosen for it). */
function entryPath(dir: string, projectDir: string, kind: string): string {
  return path.join(dir, `${kind}-${createHash('sha256').update(path.resolve(projectDir)).digest('hex').slice(0, 32)}.json`);
}

export async function readCached<T>(dir: string, projectDir: string, key: string, kind = 'scan'): Promise<T | undefined> {
  try {
    const doc = JSON.parse(await readFile(entryPath(dir, projectDir, kind), 'utf8')) as { key?: string; value?: T };
    return doc.key === key ? doc.value : undefined;
  } catch {
    return undefined;
  }
}

export async function writeCached(dir: string, projectDir: string, key: string, value: unknown, kind = 'scan'): Promise<void> {
  try {
    await makeDir(dir, { mode: 0o700 });
    await writeFileAtomic(entryPath(dir, projectDir, kind), JSON.stringify({ key, value }), { mode: 0o600 });
  } catch {
    // a cache that cannot be written is only slower
  }
}
