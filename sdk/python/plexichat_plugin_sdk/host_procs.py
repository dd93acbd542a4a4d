"""The processes the plugin started, found from /proc (Linux), and how they end.

The host runs (under ``plexichat-plugin dev``) in a session and process group of
its own and is a child subreaper, so what the plugin starts is one of: a
descendant, a member of the host's group or session, or (once reparented after
the host itself was gone) a process that still carries the session marker the
CLI put in the host's environment (``PLEXICHAT_DEV_SESSION``, inherited by every
child that keeps its environment). The CLI's own scan is src/dev/process-tree.ts.
"""
import os
import signal
import threading
import time

__all__ = ["MARKER_ENV", "own_processes", "descendants", "end_processes", "end_in_background"]

MARKER_ENV = "PLEXICHAT_DEV_SESSION"


def _table():
    table = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return table
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as fh:
                text = fh.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = text[text.rfind(")") + 2:].split()
        if len(fields) < 20 or fields[0] in ("Z", "X"):
            continue
        # ppid, pgid, sid, start time (ticks since boot: a reused pid has another)
        table[int(name)] = (int(fields[1]), int(fields[2]), int(fields[3]), fields[19])
    return table


def _has_marker(pid, needle):
    try:
        with open("/proc/%d/environ" % pid, "rb") as fh:
            return needle in fh.read()
    except OSError:
        return False


def own_processes():
    """(pid, start) of every process the host started, directly or not (not the host itself)."""
    me = os.getpid()
    try:
        sid, pgid = os.getsid(0), os.getpgid(0)
    except (OSError, AttributeError):
        return []
    table = _table()
    marker = os.environ.get(MARKER_ENV)
    needle = ("%s=%s\0" % (MARKER_ENV, marker)).encode() if marker else None
    found = set()
    for pid, (_, g, s, _) in table.items():
        if pid == me:
            continue
        if (sid == me and s == sid) or (pgid == me and g == pgid) or (needle and _has_marker(pid, needle)):
            found.add(pid)
    frontier = [me] + list(found)
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _, _, _) in table.items():
            if ppid == parent and pid != me and pid not in found:
                found.add(pid)
                frontier.append(pid)
    return sorted((pid, table[pid][3]) for pid in found)


def _start_of(pid):
    """The start time of live process ``pid`` (None when it is gone or a zombie)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as fh:
            text = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return fields[19]


def _children(pid):
    """Direct children of ``pid`` (of all its threads), or None where the kernel does not list them."""
    out = []
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for task in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, task), "rb") as fh:
                out.extend(int(x) for x in fh.read().split())
        except FileNotFoundError:
            if not os.path.isdir("/proc/%d/task/%s" % (pid, task)):
                continue  # the thread ended meanwhile
            return None
        except (OSError, ValueError):
            continue
    return out


def descendants():
    """(pid, start) of the host's descendants, read from the children lists of each process
    (a few files, not the whole process table: this runs before every reload). While the host
    is a child subreaper, that is everything the plugin started. Falls back to own_processes()
    where the kernel has no children lists."""
    found = {}
    frontier = [os.getpid()]
    while frontier:
        kids = _children(frontier.pop())
        if kids is None:
            return own_processes()
        for pid in kids:
            if pid in found:
                continue
            start = _start_of(pid)
            if start is not None:
                found[pid] = start
                frontier.append(pid)
    return sorted(found.items())


def _signal(procs, signum):
    alive = []
    for pid, start in procs:
        if _start_of(pid) != start:
            continue
        alive.append((pid, start))
        try:
            os.kill(pid, signum)
        except OSError:
            pass
    return alive


def end_processes(procs, grace=0.5):
    """SIGTERM, then SIGKILL after ``grace`` seconds to what is left (SIGKILL at once when
    grace is 0). Only processes that are still the ones listed (same start time) are signalled."""
    procs = list(procs)
    if not procs:
        return
    if grace <= 0:
        _signal(procs, signal.SIGKILL)
        return
    alive = _signal(procs, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = [p for p in alive if _start_of(p[0]) == p[1]]
    if alive:
        _signal(alive, signal.SIGKILL)


def end_in_background(procs, grace=0.5):
    """end_processes without holding up the caller (a reload)."""
    procs = list(procs)
    if procs:
        threading.Thread(target=end_processes, args=(procs, grace), name="end-processes", daemon=True).start()
