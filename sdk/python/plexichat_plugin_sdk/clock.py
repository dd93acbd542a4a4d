"""The SDK's time source, and a fake clock for tests.

Plugin code that asks ``plexichat_plugin_sdk.clock.now()`` (or ``.utcnow()``)
gets the real time, except while a :class:`FakeClock` is installed (the pytest
plugin's ``clock`` fixture installs one for the test). Audit entries are
stamped with this time too.

A ``FakeClock`` starts at a fixed moment (2025-01-01T00:00:00Z unless told
otherwise) and only moves when ``advance()`` is called. Moving it fires the
hook events scheduled on it, in time order, through the harness it belongs to:
``every(seconds, hook)`` and ``after(seconds, hook)`` schedule any hook, and a
clock made for a plugin that handles or declares ``schedule_tick`` fires that
hook every ``tick_seconds`` (60 by default), as the platform's scheduler does.
"""
import datetime as _dt
import heapq
import itertools
import threading
import time as _time

__all__ = ["DEFAULT_START", "FakeClock", "SystemClock", "current", "install", "isoformat", "now", "utcnow"]

#: Where a FakeClock starts: 2025-01-01T00:00:00Z, as a Unix timestamp.
DEFAULT_START = 1735689600.0


class SystemClock(object):
    """The real time."""

    def now(self):
        return _time.time()

    def utcnow(self):
        return _dt.datetime.fromtimestamp(self.now(), _dt.timezone.utc)

    def isoformat(self):
        return self.utcnow().isoformat().replace("+00:00", "Z")


class FakeClock(SystemClock):
    """A clock that moves only when told to, firing scheduled hook events."""

    def __init__(self, start=DEFAULT_START, harness=None, tick_seconds=60.0):
        if isinstance(start, _dt.datetime):
            start = start.timestamp()
        self._now = float(start)
        self._harness = harness
        self._queue = []
        self._order = itertools.count()
        self._lock = threading.RLock()
        self.fired = []
        self.tick_seconds = float(tick_seconds)
        if harness is not None and harness.handles("schedule_tick"):
            self.every(self.tick_seconds, "schedule_tick")

    def now(self):
        return self._now

    def every(self, seconds, hook, payload=None):
        """Fire ``hook`` every ``seconds`` from now on (the first time ``seconds`` from now)."""
        self._schedule(seconds, hook, payload, float(seconds))

    def after(self, seconds, hook, payload=None):
        """Fire ``hook`` once, ``seconds`` from now."""
        self._schedule(seconds, hook, payload, None)

    def _schedule(self, seconds, hook, payload, repeat):
        seconds = float(seconds)
        if seconds < 0 or (repeat is not None and seconds <= 0):
            raise ValueError("a schedule needs a positive number of seconds, got %r" % (seconds,))
        if self._harness is None:
            raise RuntimeError("this FakeClock has no harness to deliver hook events to: FakeClock(harness=...)")
        self._harness._check_hook(hook)
        with self._lock:
            heapq.heappush(self._queue, (self._now + seconds, next(self._order), hook, payload, repeat))

    def advance(self, seconds=0.0, minutes=0.0, hours=0.0, days=0.0):
        """Move the time forward, firing what falls due on the way (at its own time).
        Returns the events fired, as (time, hook, handler results) tuples."""
        step = float(seconds) + 60.0 * float(minutes) + 3600.0 * float(hours) + 86400.0 * float(days)
        if step < 0:
            raise ValueError("a clock only moves forward")
        end = self._now + step
        fired = []
        while True:
            with self._lock:
                if not self._queue or self._queue[0][0] > end:
                    break
                when, _, hook, payload, repeat = heapq.heappop(self._queue)
                if repeat is not None:
                    heapq.heappush(self._queue, (when + repeat, next(self._order), hook, payload, repeat))
                self._now = when
            event = {"time": self.isoformat(), "timestamp": when} if payload is None else payload
            results = self._harness.emit(hook, event)
            fired.append((when, hook, results))
        self._now = end
        self.fired.extend(fired)
        return fired


_current = SystemClock()


def current():
    """The clock in use (the real one unless a FakeClock is installed)."""
    return _current


def install(clock):
    """Make ``clock`` the SDK's time source; returns the one it replaces."""
    global _current
    previous, _current = _current, (clock if clock is not None else SystemClock())
    return previous


def now():
    """Seconds since the epoch, from the clock in use."""
    return _current.now()


def utcnow():
    """An aware UTC datetime, from the clock in use."""
    return _current.utcnow()


def isoformat():
    """The time of the clock in use as ISO 8601 UTC text, e.g. 2025-01-01T00:00:00Z."""
    return _current.isoformat()
