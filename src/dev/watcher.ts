/**
 * Watching a plugin project for saves, with chokidar: it watches directories
 * recursively on every platform, follows files that editors replace (write a
 * temp file, then rename it over the original), and folds such a delete+add
 * into one change. Changes are batched: a batch is handed over once no change
 * came for `quietMs` (or `maxWaitMs` after its first change), so a burst of
 * saves gives one reload and a file is read only after its writer paused.
 */
import fs from 'node:fs';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

/** What is watched, relative to the project root. */
export const WATCHED = ['src', 'config'] as const;

const IGNORED_DIRS = new Set(['__pycache__', '.pytest_cache', '.mypy_cache', 'node_modules', '.git', '.venv', 'venv']);
// Editors' scratch files: vim (.swp, .swx, ~, 4913), emacs (#x#, .#x), JetBrains (___jb_tmp___),
// `sed -i` (sedXXXXXX), temp files.
const SCRATCH = /(^\.|^#.*#$|~$|\.sw[a-p]$|\.swx$|^4913$|___jb_(tmp|old)___$|^sed[A-Za-z0-9]{6}$|\.tmp$|\.pyc$|\.pyo$)/;

/** True for paths a save of the plugin never consists of (caches, editors' temp files, dot files). */
export function ignoredPath(rel: string): boolean {
  const parts = rel.split(/[\\/]/).filter(Boolean);
  if (parts.some((p) => IGNORED_DIRS.has(p))) return true;
  const base = parts[parts.length - 1] ?? '';
  return SCRATCH.test(base);
}

export interface WatchOptions {
  root: string;
  quietMs?: number;
  maxWaitMs?: number;
  /** A batch of changed paths (relative, forward slashes, sorted). */
  onBatch(changed: string[]): void;
  onError(err: Error): void;
}

export interface ProjectWatcher {
  /** Resolves once the initial scan is done and changes are reported. */
  ready: Promise<void>;
  close(): Promise<void>;
}

export function watchProject(opts: WatchOptions): ProjectWatcher {
  // 100 ms of quiet: a burst of saves (or one editor save seen as several events) is one reload,
  // also when the machine is loaded and events arrive spread out.
  const quiet = opts.quietMs ?? 100;
  const maxWait = opts.maxWaitMs ?? 2000;
  const pending = new Set<string>();
  // Files that appeared while watching and were never reported as there: a file an editor
  // writes and removes again (a temp file renamed over the original, whatever its name)
  // is no change of the plugin, and its name is never shown.
  const appeared = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let first = 0;
  let closed = false;

  const flush = () => {
    timer = undefined;
    if (closed || pending.size === 0) return;
    const batch: string[] = [];
    for (const rel of [...pending].sort()) {
      const there = fs.existsSync(path.join(opts.root, rel));
      if (!there && appeared.has(rel)) {
        appeared.delete(rel);
        continue;
      }
      if (there) appeared.delete(rel);
      batch.push(rel);
    }
    pending.clear();
    if (batch.length) opts.onBatch(batch);
  };

  const watcher: FSWatcher = watch(
    WATCHED.map((d) => path.join(opts.root, d)),
    {
      ignoreInitial: true,
      atomic: true,
      ignored: (p: string) => {
        const rel = path.relative(opts.root, p);
        return rel !== '' && ignoredPath(rel);
      },
    },
  );
  watcher.on('all', (event, p) => {
    if (closed) return;
    const rel = path.relative(opts.root, p).split(path.sep).join('/');
    if ((event === 'add' || event === 'addDir') && !pending.has(rel)) appeared.add(rel);
    const now = Date.now();
    if (pending.size === 0) first = now;
    pending.add(rel);
    if (timer) clearTimeout(timer);
    timer = setTimeout(flush, Math.max(0, Math.min(quiet, first + maxWait - now)));
  });
  watcher.on('error', (err) => opts.onError(err instanceof Error ? err : new Error(String(err))));
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    ready,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      releaseThrottles(watcher);
      await watcher.close();
    },
  };
}

/**
 * chokidar 4's close() forgets its throttles without clearing their timers; the
 * one for re-reading a directory runs 1 s and keeps the process alive that long
 * after `dev` stopped. Each throttle carries its own clear(); call them first.
 */
function releaseThrottles(watcher: FSWatcher): void {
  const throttled = (watcher as unknown as { _throttled?: unknown })._throttled;
  if (!(throttled instanceof Map)) return;
  for (const byPath of throttled.values()) {
    if (!(byPath instanceof Map)) continue;
    for (const t of [...byPath.values()] as Array<{ clear?: () => void }>) t?.clear?.();
  }
}
