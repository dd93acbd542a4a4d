"""PluginTestHarness: drive a plugin the way the platform does, in tests.

    harness = PluginTestHarness()
    plugin = harness.load_plugin(MyPlugin())
    harness.emit("message_sent", {"user_id": "u1", "content": "hi"})
    response = harness.call_endpoint("/api/v1/my_plugin/status", user_permissions=["message_read"])
    assert response.status_code == 200 and response.json()["messages_seen"] == 1

Status codes of ``call_endpoint``: 200 (the handler returned a value), the
code of a :class:`Response` the handler returned, 403 (the handler raised
``PermissionError``, e.g. from ``require_permission``), 404 (no handler for
the path), 405 (the path exists but not for that method), 500 (the handler
raised any other exception, or returned something that is not JSON), 503
(a simulated resource usage is above the manifest's ``resources.limits``).
"""
import json
import re

from .plugin import Request, Response, Storage, collect_handlers

__all__ = ["PluginTestHarness", "TestResponse", "parse_cpu", "parse_memory_mb"]

_MEMORY_UNITS = {
    "": 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60, "m": 1e-3,
}
_QUANTITY = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")


def parse_memory_mb(quantity):
    """A Kubernetes memory quantity ('1Gi', '256Mi', '500M', 1048576) in MiB."""
    if isinstance(quantity, (int, float)) and not isinstance(quantity, bool):
        return float(quantity) / 2 ** 20
    m = _QUANTITY.match(str(quantity))
    if not m or m.group(2) not in _MEMORY_UNITS:
        raise ValueError("not a memory quantity: %r" % (quantity,))
    return float(m.group(1)) * _MEMORY_UNITS[m.group(2)] / 2 ** 20


def parse_cpu(quantity):
    """A Kubernetes CPU quantity ('500m', '1', 0.5) in millicores."""
    if isinstance(quantity, (int, float)) and not isinstance(quantity, bool):
        return float(quantity) * 1000
    m = _QUANTITY.match(str(quantity))
    if not m or m.group(2) not in ("", "m"):
        raise ValueError("not a CPU quantity: %r" % (quantity,))
    return float(m.group(1)) * (1 if m.group(2) == "m" else 1000)


class TestResponse(object):
    """What ``call_endpoint`` returns."""

    __test__ = False  # not a pytest test class

    def __init__(self, status_code, body=None, headers=None, exception=None):
        self.status_code = status_code
        self.headers = dict(headers or {})
        self.text = json.dumps(body)
        #: The exception the handler raised, for 403 and 500 responses.
        self.exception = exception

    def json(self):
        return json.loads(self.text)

    @property
    def ok(self):
        return 200 <= self.status_code < 300

    def __repr__(self):
        return "<TestResponse %d %s>" % (self.status_code, self.text[:80])


def _error(status, code, message, **extra):
    body = {"error": code, "message": message}
    body.update(extra)
    return status, body


class PluginTestHarness(object):
    """Loads one plugin and plays the platform's part: hook events and endpoint calls."""

    __test__ = False

    def __init__(self):
        self.plugin = None
        self._hooks = {}
        self._endpoints = {}
        self._storage = Storage()
        self._usage = {}

    # -- loading ----------------------------------------------------------
    def load_plugin(self, plugin):
        """Load a plugin instance (or class, which is instantiated). Returns the instance."""
        if isinstance(plugin, type):
            plugin = plugin()
        if self.plugin is not None and self.plugin is not plugin:
            self._unload()
        # The harness owns storage, so data outlives restarts; keep what __init__ stored.
        own = getattr(plugin, "storage", None)
        if isinstance(own, Storage) and own is not self._storage:
            for key in own.keys():
                self._storage.set(key, own.get(key))
        plugin.storage = self._storage
        self.plugin = plugin
        self._bind()
        on_load = getattr(plugin, "on_load", None)
        if callable(on_load):
            on_load()
        return plugin

    def restart_plugin(self):
        """Unload the plugin and load a new instance of its class, as the platform does on
        a restart. Data in ``plugin.storage`` is kept; attributes of the old object are not.
        Returns the new instance (also ``harness.plugin``)."""
        old = self._require_plugin()
        self._unload()
        return self.load_plugin(type(old)())

    def close(self):
        """Unload the plugin (calls ``on_unload``)."""
        if self.plugin is not None:
            self._unload()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _unload(self):
        plugin = self.plugin
        self.plugin = None
        self._hooks = {}
        self._endpoints = {}
        on_unload = getattr(plugin, "on_unload", None)
        if callable(on_unload):
            on_unload()

    def _bind(self):
        hooks, endpoints = collect_handlers(type(self.plugin))
        self._hooks = {name: [getattr(self.plugin, attr) for attr in attrs] for name, attrs in hooks.items()}
        self._endpoints = {
            path: (getattr(self.plugin, attr), methods) for path, (attr, methods) in endpoints.items()
        }

    def _require_plugin(self):
        if self.plugin is None:
            raise RuntimeError("no plugin loaded: call harness.load_plugin(plugin) first")
        return self.plugin

    # -- what is registered -------------------------------------------------
    def get_registered_hooks(self):
        """{hook name: callable}; the callable is the bound handler (or calls every handler
        when several methods handle the same hook)."""
        self._require_plugin()
        out = {}
        for name, handlers in self._hooks.items():
            if len(handlers) == 1:
                out[name] = handlers[0]
            else:
                out[name] = (lambda hs: lambda payload=None: [h(payload) for h in hs])(list(handlers))
        return out

    def get_registered_endpoints(self):
        """{path: bound handler}."""
        self._require_plugin()
        return {path: handler for path, (handler, _methods) in self._endpoints.items()}

    def get_endpoint_methods(self, path):
        """The HTTP methods registered for a path."""
        self._require_plugin()
        return list(self._endpoints[path][1])

    # -- events and calls -----------------------------------------------------
    def emit(self, hook, payload=None):
        """Deliver a hook event to every handler of it; returns their return values (an
        empty list when nothing handles it). Exceptions from a handler propagate, so a
        test sees them."""
        self._require_plugin()
        return [handler(payload) for handler in self._hooks.get(hook, [])]

    def simulate_resource_usage(self, memory_mb=None, cpu_millicores=None):
        """Pretend the plugin uses this much memory (MiB) / CPU (millicores). While a value is
        above the manifest's resources.limits, endpoint calls answer 503 (hook events are
        still delivered). Pass 0 to go back to normal."""
        if memory_mb is not None:
            self._usage["memory"] = float(memory_mb)
        if cpu_millicores is not None:
            self._usage["cpu"] = float(cpu_millicores)

    def _over_limit(self):
        manifest = getattr(self.plugin, "manifest", None)
        limits = {}
        if isinstance(manifest, dict):
            limits = (manifest.get("resources") or {}).get("limits") or {}
        checks = (("memory", parse_memory_mb, "MiB"), ("cpu", parse_cpu, "millicores"))
        for key, parse, unit in checks:
            used = self._usage.get(key)
            if not used or limits.get(key) is None:
                continue
            limit = parse(limits[key])
            if used > limit:
                return _error(
                    503,
                    "resource_limit_exceeded",
                    "%s usage %g %s is above the limit of %g %s" % (key, used, unit, limit, unit),
                    resource=key,
                )
        return None

    def call_endpoint(self, path, user_permissions=None, user_id=None, method="GET", body=None, headers=None,
                      query=None):
        """Call the handler of ``path`` like the platform would and return a TestResponse.

        ``user_permissions``: the caller's permissions (a list). ``None`` (the default) means
        the call carries no permission information and ``require_permission`` does not
        enforce; pass a list (even ``[]``) to test enforcement."""
        self._require_plugin()
        method = method.upper()
        if "?" in path:
            path, _, qs = path.partition("?")
            parsed = dict(p.split("=", 1) if "=" in p else (p, "") for p in qs.split("&") if p)
            parsed.update(query or {})
            query = parsed
        limited = self._over_limit()
        if limited:
            return TestResponse(*limited)
        if path not in self._endpoints:
            return TestResponse(*_error(404, "not_found", "no endpoint %s" % path))
        handler, methods = self._endpoints[path]
        if method not in methods:
            status, payload = _error(405, "method_not_allowed", "%s does not accept %s" % (path, method))
            return TestResponse(status, payload, {"Allow": ", ".join(methods)})
        request = Request(
            path,
            method=method,
            user_id=user_id,
            permissions=None if user_permissions is None else list(user_permissions),
            body=body,
            headers=headers,
            query=query,
        )
        try:
            result = handler(request)
        except PermissionError as e:
            return TestResponse(
                *_error(403, "forbidden", str(e), permission=getattr(e, "permission", None)), exception=e
            )
        except Exception as e:  # the platform turns any handler error into a 500
            return TestResponse(*_error(500, "internal_error", "%s: %s" % (type(e).__name__, e)), exception=e)
        status, response_headers = 200, {}
        if isinstance(result, Response):
            status, response_headers, result = result.status_code, result.headers, result.body
        try:
            json.dumps(result, allow_nan=False)
        except (TypeError, ValueError) as e:
            return TestResponse(
                *_error(500, "internal_error", "the handler returned something that is not JSON: %s" % e), exception=e
            )
        return TestResponse(status, result, response_headers)

