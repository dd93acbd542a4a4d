/**
 * The CLI's per-user cache: small JSON entries, one per project and kind
 * (the code scan, the interpreter chosen for it, the source record of the
 * last build). It lives in $PLEXICHAT_CACHE_DIR, else the user cache dir
 * (io/dirs.ts: $XDG_CACHE_HOME/plexichat-plugin, else
 * ~/.cache/plexichat-plugin); PLEXICHAT_CACHE_DIR=off turns it off. An entry
 * is only ever a shortcut: any problem reading it is a miss, and one that
 * cannot be written is only slower.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { userDir } from './dirs.js';
import { makeDir } from './make-dir.js';

export function cacheDir(env: NodeJS.ProcessEnv): string | undefined {
  const own = env.PLEXICHAT_CACHE_DIR;
  if (own !== undefined) return own === '' || own === 'off' || own === '0' ? undefined : path.resolve(own);
  return userDir('cache', env);
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
