"""The host's events: one JSON object per line on stdout (NDJSON), a short
history, and live subscribers (the dev console's event stream).

Every event has ``event`` (ready, reloaded, reload_failed, request, hook, log,
stopping), ``time`` (ISO 8601, UTC) and ``seq`` (1, 2, ...). The plugin's own
output cannot corrupt the stream: ``logging`` records, ``print()`` and writes
to ``sys.stderr`` become ``log`` events, and file descriptor 1 is pointed at
stderr so that even a subprocess writing to it lands there.
"""
import collections
import datetime
import io
import json
import logging
import os
import queue
import sys
import threading
import warnings

__all__ = ["EventBus", "capture_output"]


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EventBus(object):
    def __init__(self, stream, history=500):
        self._stream = stream
        self._lock = threading.Lock()
        self._history = collections.deque(maxlen=history)
        self._subscribers = set()
        self._seq = 0

    def emit(self, event, **fields):
        doc = {"event": event, "time": _now()}
        doc.update(fields)
        return self._send(doc, True)

    def publish(self, doc):
        """An event someone else already reported on their own stream (the CLI's validated and
        rejected reloads): for the console's history and live subscribers only, not stdout."""
        doc = dict(doc)
        doc.setdefault("time", _now())
        return self._send(doc, False)

    def _send(self, doc, to_stream):
        with self._lock:
            self._seq += 1
            doc["seq"] = self._seq
            line = json.dumps(doc, default=repr, ensure_ascii=False)
            if to_stream and self._stream is not None:
                try:
                    self._stream.write(line + "\n")
                    self._stream.flush()
                except (OSError, ValueError):
                    self._stream = None  # the reader went away; keep serving
            self._history.append(line)
            for q in list(self._subscribers):
                try:
                    q.put_nowait(line)
                except queue.Full:
                    pass  # a slow console misses lines rather than blocking the host
        return doc

    def subscribe(self, maxsize=2000):
        """(queue of JSON lines, the history so far)."""
        q = queue.Queue(maxsize=maxsize)
        with self._lock:
            self._subscribers.add(q)
            return q, list(self._history)

    def unsubscribe(self, q):
        with self._lock:
            self._subscribers.discard(q)

    def flush(self):
        with self._lock:
            if self._stream is not None:
                try:
                    self._stream.flush()
                except (OSError, ValueError):
                    pass


class _LogHandler(logging.Handler):
    def __init__(self, bus, relpath):
        super().__init__()
        self._bus = bus
        self._relpath = relpath

    def emit(self, record):
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            fields = {}
            # A place only when it is the plugin's own file: never the SDK's or the library's path.
            rel = self._relpath(record.pathname) if os.path.isabs(record.pathname or "") else None
            if rel and not os.path.isabs(rel):
                fields = {"file": rel, "line": record.lineno}
            self._bus.emit("log", level=record.levelname.lower(), logger=record.name, message=message, **fields)
        except Exception:
            self.handleError(record)


class _LineWriter(io.TextIOBase):
    """sys.stdout / sys.stderr replacement: each complete line is a log event."""

    def __init__(self, bus, level, source):
        super().__init__()
        self._bus = bus
        self._level = level
        self._source = source
        self._buf = ""
        self._lock = threading.Lock()

    @property
    def encoding(self):
        return "utf-8"

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s" % type(text).__name__)
        with self._lock:
            self._buf += text
            lines = self._buf.split("\n")
            self._buf = lines.pop()
        for line in lines:
            self._bus.emit("log", level=self._level, logger=self._source, message=line)
        return len(text)

    def flush(self):
        with self._lock:
            rest, self._buf = self._buf, ""
        if rest:
            self._bus.emit("log", level=self._level, logger=self._source, message=rest)


def capture_output(relpath, level=logging.INFO):
    """Take fd 1 for the events, point fd 1 at stderr, route logging/print/stderr into
    log events. Returns the EventBus."""
    sys.stdout.flush()
    try:
        events_fd = os.dup(1)
        os.dup2(2, 1)
        stream = io.open(events_fd, "w", encoding="utf-8", errors="replace", newline="\n")
    except OSError:
        stream = sys.stdout
    bus = EventBus(stream)
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(_LogHandler(bus, relpath))
    root.setLevel(level)

    def show_warning(message, category, filename, lineno, file=None, line=None):
        # As a log event: the warning's class and text, at the plugin's file and line when the
        # warning points there (a warning raised inside the SDK names no path of the SDK's).
        fields = {}
        rel = relpath(filename) if os.path.isabs(filename or "") else None
        if rel and not os.path.isabs(rel):
            fields = {"file": rel, "line": lineno}
        bus.emit("log", level="warning", logger="py.warnings", message="%s: %s" % (category.__name__, message), **fields)

    warnings.showwarning = show_warning
    sys.stdout = _LineWriter(bus, "info", "stdout")
    sys.stderr = _LineWriter(bus, "warning", "stderr")
    return bus
