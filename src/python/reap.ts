/**
 * Every process of a test run, found and stopped, including those that
 * left pytest's process group (setsid, a double-forked daemon).
 *
 * pytest leads its own process group and carries a marker in its
 * environment (PLEXICHAT_TEST_RUN=<random>) that every process it starts
 * inherits. On a stop the run's processes are: pytest's group, pytest's
 * descendants by parent pid (read from /proc before anything is killed),
 * and every process of this user whose environment carries the marker.
 * Not covered, and said so in docs/sdk.md: a process that both left the
 * process tree (its parent exited) and was started with a fresh environment;
 * where there is no /proc, anything outside pytest's process group.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';

export const RUN_MARKER_ENV = 'PLEXICHAT_TEST_RUN';

export function newRunMarker(): string {
  return randomBytes(12).toString('hex');
}

export interface RunProcess {
  pid: number;
  /** The command line, shortened. */
  command: string;
  /** In pytest's process group (the group signal reaches it). */
  inGroup: boolean;
  /** Start time (clock ticks since boot): a pid reused by another process is never signalled. */
  start: string;
}

export interface StopReport {
  /** 'proc': the run's processes were found through /proc; 'group': only pytest's process group could be signalled. */
  method: 'proc' | 'group';
  /** Processes of the run found running besides pytest, and how many of them had left its process group. */
  others: number;
  outsideGroup: number;
  /** Processes of the run still alive after SIGKILL (another user's, say). */
  survivors: { pid: number; command: string }[];
}

interface Stat {
  pid: number;
  state: string;
  ppid: number;
  pgid: number;
  start: string;
}

async function readStat(pid: number): Promise<Stat | undefined> {
  const text = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  // The command name may hold spaces and parentheses: the fields after the last ')' are fixed.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: f[0], ppid: Number(f[1]), pgid: Number(f[2]), start: f[19] };
}

// eslint-disable-next-line no-control-regex -- a process's command line is shown without its control characters
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

async function commandOf(pid: number): Promise<string> {
  const raw = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  const text = raw.split('\0').filter(Boolean).join(' ').replace(CONTROL, ' ');
  return text.length > 60 ? `${text.slice(0, 59)}…` : text || '?';
}

/** The run's live processes (pytest included), or undefined where there is no /proc. */
export async function runProcesses(rootPid: number, marker: string): Promise<RunProcess[] | undefined> {
  let names: string[];
  try {
    names = await fs.readdir('/proc');
  } catch {
    return undefined;
  }
  const stats = (await Promise.all(names.filter((n) => /^\d+$/.test(n)).map((n) => readStat(Number(n))))).filter(
    (s): s is Stat => s !== undefined && s.state !== 'Z' && s.pid !== process.pid,
  );
  const children = new Map<number, number[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s.pid]);
  const tree = new Set<number>([rootPid]);
  for (const pid of tree) for (const c of children.get(pid) ?? []) tree.add(c);
  const needle = Buffer.from(`${RUN_MARKER_ENV}=${marker}\0`);
  const marked = async (pid: number) => (await fs.readFile(`/proc/${pid}/environ`).catch(() => undefined))?.includes(needle) ?? false;
  const out: RunProcess[] = [];
  for (const s of stats) {
    if (tree.has(s.pid) || s.pgid === rootPid || (await marked(s.pid))) {
      out.push({ pid: s.pid, command: await commandOf(s.pid), inGroup: s.pgid === rootPid, start: s.start });
    }
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already, or not ours
  }
}

/** Still the same process (same pid and start time), alive and not a zombie. */
async function alive(p: RunProcess): Promise<boolean> {
  const s = await readStat(p.pid);
  return s !== undefined && s.start === p.start && s.state !== 'Z';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitGone(ps: RunProcess[], ms: number, exited?: () => boolean): Promise<RunProcess[]> {
  const until = Date.now() + ms;
  let left = ps;
  for (;;) {
    left = (await Promise.all(left.map(async (p) => ((await alive(p)) ? p : undefined)))).filter((p): p is RunProcess => p !== undefined);
    if ((left.length === 0 && (exited?.() ?? true)) || Date.now() >= until) return left;
    await sleep(100);
  }
}

/**
 * Stop the run: SIGTERM to pytest's group and to every process of the run
 * found outside it; after graceMs (or once all are gone) SIGKILL to what is
 * left and to any process of the run started meanwhile.
 */
export async function stopRun(rootPid: number, marker: string, graceMs: number, exited: () => boolean): Promise<StopReport> {
  try {
    return await stopFound(rootPid, marker, graceMs, exited);
  } catch {
    signal(-rootPid, 'SIGKILL'); // /proc went away under us: what the group signal reaches, at least
    return { method: 'group', others: 0, outsideGroup: 0, survivors: [] };
  }
}

async function stopFound(rootPid: number, marker: string, graceMs: number, exited: () => boolean): Promise<StopReport> {
  const found = await runProcesses(rootPid, marker);
  signal(-rootPid, 'SIGTERM');
  if (!found) {
    const until = Date.now() + graceMs;
    while (!exited() && Date.now() < until) await sleep(100);
    signal(-rootPid, 'SIGKILL');
    return { method: 'group', others: 0, outsideGroup: 0, survivors: [] };
  }
  for (const p of found) if (!p.inGroup) signal(p.pid, 'SIGTERM');
  const left = await waitGone(found, graceMs, exited);
  signal(-rootPid, 'SIGKILL');
  const late = ((await runProcesses(rootPid, marker)) ?? []).filter((p) => !found.some((f) => f.pid === p.pid));
  for (const p of [...left, ...late]) signal(p.pid, 'SIGKILL');
  const survivors = await waitGone([...left, ...late], 1000);
  const all = [...found, ...late].filter((p) => p.pid !== rootPid);
  return {
    method: 'proc',
    others: all.length,
    outsideGroup: all.filter((p) => !p.inGroup).length,
    survivors: survivors.map(({ pid, command }) => ({ pid, command })),
  };
}

/** What a stop reached, in words that claim no more than that. */
export function describeStop(r: StopReport): string {
  if (r.method === 'group') {
    return 'pytest and its process group were stopped (a process that left the group, e.g. with setsid, cannot be found on this system)';
  }
  const s = (n: number) => (n === 1 ? '' : 'es');
  const outside = r.outsideGroup ? ` (${r.outsideGroup} outside its process group)` : '';
  if (r.survivors.length) {
    const list = r.survivors.map((p) => `pid ${p.pid} (${p.command})`).join(', ');
    return `pytest was stopped, but ${r.survivors.length} process${s(r.survivors.length)} of the run could not be: ${list}`;
  }
  if (r.others === 0) return 'pytest was stopped (no other process of the run was found running)';
  return `pytest and the ${r.others} other process${s(r.others)} found running for it were stopped${outside}`;
}
