/**
 * A cache of code-scan results, so `validate` followed by `build` (or a
 * second `build`) does not start Python again when no module changed. The
 * key is a fingerprint of every .py file under src/ (path, size, mtime,
 * inode), the interpreter candidates and the scanner itself, the same rule
 * make and eslint --cache use. It lives in $PLEXICHAT_CACHE_DIR, else the
 * user cache dir (io/dirs.ts: $XDG_CACHE_HOME/plexichat-plugin, else
 * ~/.cache/plexichat-plugin); PLEXICHAT_CACHE_DIR=off turns it off. Any
 * cache problem means a miss.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { userDir } from '../io/dirs.js';

export function cacheDir(env: NodeJS.ProcessEnv): string | undefined {
  const own = env.PLEXICHAT_CACHE_DIR;
  if (own !== undefined) return own === '' || own === 'off' || own === '0' ? undefined : path.resolve(own);
  return userDir('cache', env);
}

async function walk(dir: string, rel: string, lines: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      if (e.name !== '__pycache__' && !e.name.startsWith('.')) await walk(p, r, lines);
    } else if (e.name.endsWith('.py')) {
      try {
        const st = await stat(p);
        lines.push(`${r}\0${st.size}\0${st.mtimeMs}\0${st.ino}`);
      } catch {
        lines.push(`${r}\0missing`);
      }
    }
  }
}

/** Fingerprint of the inputs of a scan; undefined when src/ cannot be walked. */
export async function fingerprint(srcDir: string, candidates: string[], script: string): Promise<string | undefined> {
  const lines: string[] = [];
  try {
    await walk(srcDir, '', lines);
  } catch {
    return undefined;
  }
  const h = createHash('sha256');
  h.update(script);
  for (const c of candidates) {
    const st = await stat(c).catch(() => undefined);
    h.update(`python\0${c}\0${st?.mtimeMs ?? 'missing'}\n`);
  }
  for (const l of lines) h.update(`${l}\n`);
  return h.digest('hex');
}

function entryPath(dir: string, projectDir: string): string {
  return path.join(dir, `scan-${createHash('sha256').update(path.resolve(projectDir)).digest('hex').slice(0, 32)}.json`);
}

export async function readCached<T>(dir: string, projectDir: string, key: string): Promise<T | undefined> {
  try {
    const doc = JSON.parse(await readFile(entryPath(dir, projectDir), 'utf8')) as { key?: string; value?: T };
    return doc.key === key ? doc.value : undefined;
  } catch {
    return undefined;
  }
}

export async function writeCached(dir: string, projectDir: string, key: string, value: unknown): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(entryPath(dir, projectDir), JSON.stringify({ key, value }), { mode: 0o600 });
  } catch {
    // a cache that cannot be written is only slower
  }
}
