/**
 * Everything the plugin host started, found from /proc (Linux): the host runs
 * in a session and process group of its own (it is started detached), so an
 * ordinary child of the plugin shares both; a child that calls setsid() leaves
 * them but stays the host's descendant; and a daemon that forks twice is
 * reparented to the host, which makes itself a child subreaper
 * (plexichat_plugin_sdk/host.py). A cgroup would hold them all, but is not
 * available to an unprivileged CLI. Once the host itself is gone (it crashed,
 * or was killed), a daemon it had adopted is reparented to init: it is found
 * by the session marker the CLI put in the host's environment (MARKER_ENV),
 * which every child inherits unless it clears its environment. Where /proc is
 * missing the process group is all that is signalled.
 */
import fs from 'node:fs';

/** The environment variable that marks the processes of one dev session (plexichat_plugin_sdk/host_procs.py reads it too). */
export const MARKER_ENV = 'PLEXICHAT_DEV_SESSION';

export interface ProcEntry {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  /** Start time in clock ticks since boot: a pid reused later has another. */
  start: string;
}

/** /proc/<pid>/stat: "pid (comm) state ppid pgrp session ... starttime(22nd)". */
export function parseStat(text: string): ProcEntry | undefined {
  const close = text.lastIndexOf(')');
  if (close === -1) return undefined;
  const pid = Number(text.slice(0, text.indexOf(' ')));
  const f = text.slice(close + 2).split(' ');
  // f[0] is the state (3rd field); the start time is the 22nd field, f[19].
  if (f[0] === 'Z' || f[0] === 'X') return undefined; // exited, only waiting to be reaped
  const entry = { pid, ppid: Number(f[1]), pgid: Number(f[2]), sid: Number(f[3]), start: f[19] ?? '' };
  return Number.isInteger(entry.pid) && Number.isInteger(entry.ppid) ? entry : undefined;
}

function readProc(pid: string): ProcEntry | undefined {
  try {
    return parseStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // gone meanwhile, or no /proc
  }
}

/** Every live process, or undefined where there is no /proc. */
export function processTable(): ProcEntry[] | undefined {
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return undefined;
  }
  const out: ProcEntry[] = [];
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    const e = readProc(n);
    if (e) out.push(e);
  }
  return out;
}

function hasMarker(pid: number, needle: Buffer): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`).includes(needle);
  } catch {
    return false; // gone, or another user's
  }
}

/**
 * The processes that belong to `root` (not root itself): its descendants, and
 * every process in its process group or session, or (with `marker`) carrying
 * MARKER_ENV=marker in its environment; found even after its parent exited and
 * it was reparented elsewhere.
 */
export function belongingTo(root: number, table: ProcEntry[] | undefined = processTable(), marker?: string): ProcEntry[] {
  if (!table) return [];
  const needle = marker ? Buffer.from(`${MARKER_ENV}=${marker}\0`) : undefined;
  const children = new Map<number, ProcEntry[]>();
  for (const e of table) {
    const list = children.get(e.ppid) ?? [];
    list.push(e);
    children.set(e.ppid, list);
  }
  const found = new Map<number, ProcEntry>();
  const queue = [root];
  for (const e of table) {
    if (e.pid !== root && (e.pgid === root || e.sid === root || (needle && e.pid !== process.pid && hasMarker(e.pid, needle)))) {
      queue.push(e.pid);
      found.set(e.pid, e);
    }
  }
  while (queue.length) {
    const pid = queue.pop()!;
    for (const c of children.get(pid) ?? []) {
      if (c.pid === root || found.has(c.pid)) continue;
      found.set(c.pid, c);
      queue.push(c.pid);
    }
  }
  return [...found.values()];
}

/** Signal each process that is still the one recorded (same start time), and the process group `pgid`. */
export function signalAll(list: readonly ProcEntry[], signal: NodeJS.Signals, pgid?: number): void {
  if (pgid !== undefined) {
    try {
      process.kill(-pgid, signal);
    } catch {
      // the group is empty
    }
  }
  for (const e of list) {
    const now = readProc(String(e.pid));
    if (!now || now.start !== e.start) continue;
    try {
      process.kill(e.pid, signal);
    } catch {
      // gone meanwhile
    }
  }
}
