"""What the SDK records while plugin code runs: audit entries and handler coverage.

Audit entries go only to listeners (a ``SecurityTestHarness`` registers itself
as one); with no listener nothing is built or kept. Listeners are held weakly,
so a harness that is dropped stops listening; each keeps a bounded log.

Coverage is the set of hook names and endpoint paths whose handlers ran in this
process (handler names only, so it is bounded by the code). The pytest plugin
writes it to the file named by ``$PLEXICHAT_PLUGIN_COVERAGE_FILE`` at the end
of a run (see docs/sdk.md for the format).
"""
import threading
import weakref

from . import clock as _clock

_lock = threading.Lock()
_listeners = weakref.WeakSet()
_exercised = {"hooks": set(), "endpoints": set()}

_PLAIN = (str, int, float, bool)


def add_listener(listener):
    with _lock:
        _listeners.add(listener)


def remove_listener(listener):
    with _lock:
        _listeners.discard(listener)


def listening():
    return len(_listeners) > 0


def plain(value):
    """A value fit for an audit entry: a str/int/float/bool, else None (a Mock's attribute is no user id)."""
    return value if isinstance(value, _PLAIN) else None


def field(obj, name):
    """obj[name] for a dict, obj.name otherwise; None when absent or not plain."""
    if isinstance(obj, dict):
        return plain(obj.get(name))
    try:
        return plain(getattr(obj, name, None))
    except Exception:  # a property that raises is no user id either
        return None


def plugin_name(obj):
    name = getattr(obj, "name", None) if obj is not None else None
    return name if isinstance(name, str) else None


def audit(action, **fields):
    """Send one audit entry to every listener (nothing happens when none listens)."""
    if not _listeners:
        return
    with _lock:
        targets = list(_listeners)
    if not targets:
        return
    entry = {"action": action}
    entry.update(fields)
    entry["time"] = _clock.now()
    for target in targets:
        target._receive(entry)


def exercised(kind, name):
    names = _exercised[kind]
    if name not in names:
        with _lock:
            names.add(name)


def exercised_names(kind):
    with _lock:
        return sorted(_exercised[kind])


def reset_coverage():
    with _lock:
        for names in _exercised.values():
            names.clear()
