"""Prometheus metrics of the plugin host, in the text exposition format 0.0.4.

Counted from real traffic by the host (see docs/dev.md for the mapping to the
runbook's monitoring.yaml names):

``plugin_api_calls_total{endpoint,method,status}``  endpoint calls answered
``plugin_errors_total{kind}``                       endpoint | hook | load | resource_limit
``plugin_hook_calls_total{hook}``                    hook events delivered
``plugin_active_users``                              distinct users seen in the last 5 minutes
``plugin_response_time_seconds{endpoint}``           histogram of endpoint handling time
``plugin_info{plugin,version}``, ``plugin_loaded``   what is serving

Standard library only; every method is thread-safe.
"""
import bisect
import threading
import time

__all__ = ["ACTIVE_WINDOW_SECONDS", "BUCKETS", "HostMetrics"]

#: Upper bounds of the response-time histogram, in seconds. 2.0 is the
#: runbook's "Performance Degradation" threshold, so it is a bucket of its own.
BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
#: How long a user counts as active after their last request or hook event.
ACTIVE_WINDOW_SECONDS = 300.0
#: The label value used for calls that matched no declared endpoint, so that
#: arbitrary paths cannot grow the number of series without bound.
UNMATCHED = "unmatched"
#: Users tracked at most for plugin_active_users (the oldest are dropped).
MAX_TRACKED_USERS = 100000


def _escape(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names, values):
    if not names:
        return ""
    return "{" + ",".join('%s="%s"' % (n, _escape(v)) for n, v in zip(names, values)) + "}"


def _num(value):
    value = float(value)
    return "+Inf" if value == float("inf") else repr(value)


class HostMetrics(object):
    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._api_calls = {}  # (endpoint, method, status) -> n
        self._errors = {}  # kind -> n
        self._hook_calls = {}  # hook -> n
        self._histograms = {}  # endpoint -> [bucket counts..., sum, count]
        self._users = {}  # user id -> last seen (clock)
        self._info = None  # (plugin, version) or None

    # -- recording --------------------------------------------------------
    def api_call(self, endpoint, method, status, seconds):
        key = (endpoint or UNMATCHED, method, str(status))
        with self._lock:
            self._api_calls[key] = self._api_calls.get(key, 0) + 1
            h = self._histograms.get(key[0])
            if h is None:
                h = self._histograms[key[0]] = [0] * len(BUCKETS) + [0.0, 0]
            i = bisect.bisect_left(BUCKETS, seconds)
            if i < len(BUCKETS):
                h[i] += 1
            h[-2] += seconds
            h[-1] += 1

    def error(self, kind):
        with self._lock:
            self._errors[kind] = self._errors.get(kind, 0) + 1

    def hook_call(self, hook):
        with self._lock:
            self._hook_calls[hook] = self._hook_calls.get(hook, 0) + 1

    def saw_user(self, user_id):
        if user_id is None or user_id == "":
            return
        now = self._clock()
        with self._lock:
            self._users.pop(str(user_id), None)
            self._users[str(user_id)] = now  # insertion order = last seen order
            while len(self._users) > MAX_TRACKED_USERS:
                self._users.pop(next(iter(self._users)))

    def set_serving(self, plugin, version):
        """What is loaded (None, None when nothing is)."""
        with self._lock:
            self._info = None if plugin is None else (plugin, version)

    # -- reading ----------------------------------------------------------
    def active_users(self):
        cutoff = self._clock() - ACTIVE_WINDOW_SECONDS
        with self._lock:
            for user in [u for u, seen in self._users.items() if seen < cutoff]:
                del self._users[user]
            return len(self._users)

    def render(self):
        """The exposition text (Content-Type: text/plain; version=0.0.4)."""
        active = self.active_users()
        with self._lock:
            api = sorted(self._api_calls.items())
            errors = sorted(self._errors.items())
            hooks = sorted(self._hook_calls.items())
            hist = sorted((k, list(v)) for k, v in self._histograms.items())
            info = self._info
        out = []

        def family(name, kind, text):
            out.append("# HELP %s %s" % (name, text))
            out.append("# TYPE %s %s" % (name, kind))

        family("plugin_api_calls_total", "counter", "Endpoint calls answered by the plugin host.")
        for (endpoint, method, status), n in api:
            out.append("plugin_api_calls_total%s %d" % (_labels(("endpoint", "method", "status"), (endpoint, method, status)), n))
        family("plugin_errors_total", "counter", "Plugin errors by kind (endpoint, hook, load, resource_limit).")
        for kind, n in errors:
            out.append("plugin_errors_total%s %d" % (_labels(("kind",), (kind,)), n))
        family("plugin_hook_calls_total", "counter", "Hook events delivered to the plugin.")
        for hook, n in hooks:
            out.append("plugin_hook_calls_total%s %d" % (_labels(("hook",), (hook,)), n))
        family("plugin_active_users", "gauge", "Distinct users seen in the last 5 minutes.")
        out.append("plugin_active_users %d" % active)
        family("plugin_response_time_seconds", "histogram", "Time to answer an endpoint call.")
        for endpoint, h in hist:
            cumulative = 0
            for bound, n in zip(BUCKETS, h):
                cumulative += n
                out.append("plugin_response_time_seconds_bucket%s %d" % (_labels(("endpoint", "le"), (endpoint, _num(bound))), cumulative))
            out.append("plugin_response_time_seconds_bucket%s %d" % (_labels(("endpoint", "le"), (endpoint, "+Inf")), h[-1]))
            out.append("plugin_response_time_seconds_sum%s %s" % (_labels(("endpoint",), (endpoint,)), _num(h[-2])))
            out.append("plugin_response_time_seconds_count%s %d" % (_labels(("endpoint",), (endpoint,)), h[-1]))
        family("plugin_loaded", "gauge", "1 while a version of the plugin is loaded and serving, else 0.")
        out.append("plugin_loaded %d" % (1 if info else 0))
        family("plugin_info", "gauge", "The plugin and version being served (always 1).")
        if info:
            out.append("plugin_info%s 1" % _labels(("plugin", "version"), info))
        return "\n".join(out) + "\n"
