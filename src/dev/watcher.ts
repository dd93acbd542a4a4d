/**
 * Watching a plugin project for saves, with chokidar: it watches directories
 * recursively on every platform, follows files that editors replace (write a
 * temp file, then rename it over the original), and folds such a delete+add
 * into one change. Changes are batched: a batch is handed over once no change
 * came for `quietMs` (or `maxWaitMs` after its first change), so a burst of
 * saves gives one reload and a file is read only after its writer paused.
 *
 * The project root is what is watched (with everything but src/ and config/
 * ignored, so nothing else is read): src/ moved away and back, deleted and
 * created again, or replaced by a `git checkout` is a change of its parent,
 * seen like any other, and the new folder is watched. A watch on src/ itself
 * would stay on the folder that went away and never report again. When the
 * project folder itself goes (renamed, deleted), onLost says so, and the
 * watch comes back (with a batch of everything) once a folder is there again.
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
  /** The project folder was renamed or deleted: saves cannot be seen until it is back. */
  onLost?(): void;
  /** The project folder is there again and watched (a batch of WATCHED follows). */
  onBack?(): void;
  /** How often a lost project folder is looked for (ms). */
  lostPollMs?: number;
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

  const top = new Set<string>(WATCHED);
  const isIgnored = (p: string) => {
    const rel = path.relative(opts.root, p);
    if (rel === '') return false;
    const first = rel.split(path.sep)[0];
    return !top.has(first) || ignoredPath(rel);
  };
  let watcher: FSWatcher;
  let poll: NodeJS.Timeout | undefined;

  const lost = () => {
    // Everything under it reads as deleted: no batch for that, one message instead.
    pending.clear();
    appeared.clear();
    if (timer) clearTimeout(timer);
    timer = undefined;
    const old = watcher;
    releaseThrottles(old);
    void old.close();
    opts.onLost?.();
    poll = setInterval(() => {
      if (closed || !isDir(opts.root)) return;
      clearInterval(poll);
      poll = undefined;
      watcher = arm();
      void ready(watcher).then(() => {
        if (closed) return;
        opts.onBack?.();
        opts.onBatch([...WATCHED]);
      });
    }, opts.lostPollMs ?? 500);
    poll.unref();
  };

  const arm = (): FSWatcher => {
    const w = watch(opts.root, { ignoreInitial: true, atomic: true, ignored: isIgnored });
    w.on('all', (event, p) => {
      if (closed || w !== watcher) return;
      const rel = path.relative(opts.root, p).split(path.sep).join('/');
      if (rel === '') {
        if (event === 'unlinkDir') lost();
        return;
      }
      if ((event === 'add' || event === 'addDir') && !pending.has(rel)) appeared.add(rel);
      const now = Date.now();
      if (pending.size === 0) first = now;
      pending.add(rel);
      if (timer) clearTimeout(timer);
      timer = setTimeout(flush, Math.max(0, Math.min(quiet, first + maxWait - now)));
    });
    w.on('error', (err) => opts.onError(err instanceof Error ? err : new Error(String(err))));
    return w;
  };
  watcher = arm();
  return {
    ready: ready(watcher),
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (poll) clearInterval(poll);
      releaseThrottles(watcher);
      await watcher.close();
    },
  };
}

function ready(w: FSWatcher): Promise<void> {
  return new Promise<void>((resolve) => w.once('ready', () => resolve()));
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
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
