/**
 * The files the CLI's own stdout and stderr end up in, so that `build`
 * never packs (nor trips over, as a file that grows while it is read) its
 * own output:
 *
 * - `build > build.json`, `build 2> err.txt`: fd 1 or 2 is the file itself;
 * - `build 2>&1 | tee build.txt`: fd 1 is a pipe, and the file is the one
 *   the process at the other end (in our process group, like every member
 *   of a shell pipeline) has open for writing. Found through /proc on
 *   Linux; elsewhere only the first case is recognised.
 *
 * Reads only /proc (a file system), bounded; any error means "nothing more
 * found", never a failed build.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { StdioFiles } from '../../io/context.js';
import type { FileIdentity } from './file-list.js';

/** At most this many processes are looked at (a machine with more is not searched further). */
const MAX_PROCESSES = 4096;

export function ownOutputFiles(stdio: StdioFiles | undefined, proc = '/proc'): FileIdentity[] {
  const out: FileIdentity[] = [];
  const pipes: { dev: number; ino: number; what: string }[] = [];
  for (const what of ['stdout', 'stderr'] as const) {
    const f = stdio?.[what];
    if (f?.kind === 'file') out.push({ dev: f.dev, ino: f.ino, what });
    if (f?.kind === 'fifo') pipes.push({ dev: f.dev, ino: f.ino, what });
  }
  if (pipes.length > 0) out.push(...filesBehindPipes(pipes, proc));
  return out;
}

/** Files written by the other processes of our process group that hold one of these pipes. */
function filesBehindPipes(pipes: { dev: number; ino: number; what: string }[], proc: string): FileIdentity[] {
  const self = readStat(path.join(proc, 'self', 'stat'));
  if (!self) return [];
  let pids: string[];
  try {
    pids = fs.readdirSync(proc).filter((n) => /^\d+$/.test(n) && n !== String(self.pid));
  } catch {
    return [];
  }
  const found: FileIdentity[] = [];
  for (const pid of pids.slice(0, MAX_PROCESSES)) {
    const st = readStat(path.join(proc, pid, 'stat'));
    if (!st || st.pgrp !== self.pgrp) continue;
    const fds = openFiles(path.join(proc, pid));
    const pipe = pipes.find((p) => fds.some((f) => f.fifo && f.dev === p.dev && f.ino === p.ino));
    if (!pipe) continue;
    const comm = readText(path.join(proc, pid, 'comm'))?.trim() || `process ${pid}`;
    for (const f of fds) if (f.file && f.writes) found.push({ dev: f.dev, ino: f.ino, what: `${pipe.what}, through ${comm}` });
  }
  return found;
}

/** pid and process group from /proc/<pid>/stat ("pid (comm) state ppid pgrp ..."; comm may hold spaces). */
function readStat(file: string): { pid: number; pgrp: number } | undefined {
  const text = readText(file);
  if (!text) return undefined;
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  const pid = Number.parseInt(text, 10);
  const pgrp = Number(fields[2]);
  return Number.isFinite(pid) && Number.isFinite(pgrp) ? { pid, pgrp } : undefined;
}

interface OpenFile {
  dev: number;
  ino: number;
  fifo: boolean;
  file: boolean;
  /** Opened for writing (O_WRONLY or O_RDWR in fdinfo's flags). */
  writes: boolean;
}

function openFiles(procDir: string): OpenFile[] {
  let fds: string[];
  try {
    fds = fs.readdirSync(path.join(procDir, 'fd'));
  } catch {
    return []; // another user's process, or gone
  }
  const out: OpenFile[] = [];
  for (const fd of fds) {
    try {
      const st = fs.statSync(path.join(procDir, 'fd', fd), { bigint: true });
      const flags = /^flags:\s*([0-7]+)/m.exec(readText(path.join(procDir, 'fdinfo', fd)) ?? '')?.[1];
      out.push({
        dev: Number(st.dev),
        ino: Number(st.ino),
        fifo: st.isFIFO(),
        file: st.isFile(),
        writes: flags !== undefined && (Number.parseInt(flags, 8) & 3) !== 0,
      });
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
