/**
 * What the last build of a project learned of its sources, so the next
 * command need not read them again to know they are unchanged: for each
 * packed file, its stamp when the build listed it (size, modification and
 * change times, inode and device) and the sha256 the writer computed from
 * the bytes it then read. Git's index makes the same bet: a file whose
 * stamp is unchanged holds the same bytes. The change time cannot be set
 * by a user, so a file copied, restored or edited since has another stamp
 * and is hashed again.
 *
 * A file whose times are within RACY_MS of the moment the build listed it
 * is left out of the record (it could change again within the clock's
 * resolution and keep its stamp: git's "racily clean" entries); such a
 * file is always hashed. The record lives in the per-user cache
 * (io/cache.ts, kind `sources`, one per project); a missing or unreadable
 * record only means the files are hashed.
 */
import type { Stats } from 'node:fs';
import { cacheDir, readCached, writeCached } from '../../io/cache.js';

/** Files changed this close (ms) to the listing are not trusted by stamp. */
export const RACY_MS = 2000;

/** The version of the record's shape: another one is a miss. */
const KEY = 'sources-1';

/** A file's stamp: equal stamps, equal bytes (see above). */
export function fileStamp(st: Stats): string {
  return `${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}:${st.dev}`;
}

/** Whether a file with these times may be recorded by a listing made at `listedAt` (ms since the epoch). */
export function settledAt(st: Stats, listedAt: number): boolean {
  return Math.max(st.mtimeMs, st.ctimeMs) < listedAt - RACY_MS;
}

/** sha256 by path, each with the stamp it was computed at. */
export type SourceRecord = Map<string, { stamp: string; sha256: string }>;

/** Record what a build packed: the files with a settled stamp, and the sha256 the writer computed. */
export async function writeSourceRecord(
  env: NodeJS.ProcessEnv,
  projectDir: string,
  files: readonly { path: string; stamp?: string }[],
  digests: readonly { path: string; sha256: string }[],
): Promise<void> {
  const dir = cacheDir(env);
  if (!dir) return;
  const sha = new Map(digests.map((d) => [d.path, d.sha256]));
  const value: Record<string, [string, string]> = {};
  for (const f of files) {
    const h = sha.get(f.path);
    if (f.stamp && h) value[f.path] = [f.stamp, h];
  }
  await writeCached(dir, projectDir, KEY, value, 'sources');
}

/** The last build's record for this project (empty when there is none). */
export async function readSourceRecord(env: NodeJS.ProcessEnv, projectDir: string): Promise<SourceRecord> {
  const dir = cacheDir(env);
  const value = dir ? await readCached<Record<string, unknown>>(dir, projectDir, KEY, 'sources') : undefined;
  const out: SourceRecord = new Map();
  if (!value || typeof value !== 'object') return out;
  for (const [p, v] of Object.entries(value)) {
    if (Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'string') out.set(p, { stamp: v[0], sha256: v[1] });
  }
  return out;
}
