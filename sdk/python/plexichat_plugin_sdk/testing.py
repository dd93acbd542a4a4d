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
import difflib
import inspect
import json
import os
import re
import warnings

from . import _events
from ._closing import Closing
from .plugin import Request, Response, Storage, plugin_handlers, unwrapped
from .security import required_permissions

__all__ = [
    "FAILURE_KINDS",
    "Client",
    "PluginTestHarness",
    "STRICT_ENV",
    "TestResponse",
    "UndeclaredPermissionError",
    "UndeclaredPermissionWarning",
    "UnknownHookError",
    "parse_cpu",
    "parse_memory_mb",
]

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
    def status(self):
        """The status code (an alias of ``status_code``)."""
        return self.status_code

    @property
    def ok(self):
        return 200 <= self.status_code < 300

    def __repr__(self):
        return "<TestResponse %d %s>" % (self.status_code, self.text[:80])


def _error(status, code, message, **extra):
    body = {"error": code, "message": message}
    body.update(extra)
    return status, body


class UnknownHookError(LookupError):
    """``emit`` of a hook the plugin neither declares (``hooks:``) nor handles."""


class UndeclaredPermissionWarning(UserWarning):
    """A handler requires a permission that the manifest does not declare."""


class UndeclaredPermissionError(Exception):
    """The strict form of :class:`UndeclaredPermissionWarning` (``strict=True``)."""


#: Accepted by ``simulate_failure``: kind -> what becomes unavailable.
FAILURE_KINDS = {"storage": "storage", "database_connection": "storage"}
#: Set to 1/true/yes/on to make every harness strict by default (docs/sdk.md).
STRICT_ENV = "PLEXICHAT_PLUGIN_STRICT"


def strict_default():
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes", "on")


async def _await(awaitable):
    return await awaitable


def resolve(value):
    """The value, or what it resolves to when it is awaitable (an ``async def`` handler's
    result), run to completion on a new event loop."""
    if not inspect.isawaitable(value):
        return value
    import asyncio  # only for async handlers: it is slow to import

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(value))
    if inspect.iscoroutine(value):
        value.close()
    raise RuntimeError(
        "an async handler was called from a running event loop; in an async test use "
        "'await harness.emit_async(...)' or 'await harness.call_endpoint_async(...)'"
    )


class Client(object):
    """HTTP-style calls as one user: ``harness.client(user_id="u1", permissions=[...]).get(path)``.
    ``permissions=None`` carries no permission information (``require_permission`` does
    not enforce), as with ``call_endpoint``."""

    def __init__(self, harness, user_id=None, permissions=None, headers=None):
        self.harness = harness
        self.user_id = user_id
        self.permissions = None if permissions is None else list(permissions)
        self.headers = dict(headers or {})

    def request(self, method, path, json=None, query=None, headers=None):
        merged = dict(self.headers)
        merged.update(headers or {})
        return self.harness.call_endpoint(path, user_permissions=self.permissions, user_id=self.user_id,
                                          method=method, body=json, headers=merged, query=query)

    def get(self, path, query=None, headers=None):
        return self.request("GET", path, query=query, headers=headers)

    def post(self, path, json=None, query=None, headers=None):
        return self.request("POST", path, json=json, query=query, headers=headers)

    def put(self, path, json=None, query=None, headers=None):
        return self.request("PUT", path, json=json, query=query, headers=headers)

    def patch(self, path, json=None, query=None, headers=None):
        return self.request("PATCH", path, json=json, query=query, headers=headers)

    def delete(self, path, query=None, headers=None):
        return self.request("DELETE", path, query=query, headers=headers)


class PluginTestHarness(Closing):
    """Loads one plugin and plays the platform's part: hook events and endpoint calls."""

    __test__ = False

    def __init__(self, strict=None):
        self.plugin = None
        #: Undeclared permissions are an error (UndeclaredPermissionError) instead of a warning.
        self.strict = strict_default() if strict is None else bool(strict)
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
            resolve(on_load())
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

    def _unload(self):
        plugin = self.plugin
        self.plugin = None
        self._hooks = {}
        self._endpoints = {}
        on_unload = getattr(plugin, "on_unload", None)
        if callable(on_unload):
            resolve(on_unload())

    def _bind(self):
        self._hooks, self._endpoints = plugin_handlers(self.plugin)
        self._check_permissions()

    def _check_permissions(self):
        declared = getattr(self.plugin, "declared_permissions", None)
        if declared is None:
            return
        problems = []
        handlers = [h for hs in self._hooks.values() for h in hs] + [h for h, _m in self._endpoints.values()]
        for handler in handlers:
            for permission in required_permissions(handler):
                if permission not in declared:
                    where = "%s.%s" % (type(self.plugin).__name__, getattr(handler, "__name__", "handler"))
                    problem = "%s requires '%s'" % (where, permission)
                    if problem not in problems:
                        problems.append(problem)
        if not problems:
            return
        message = (
            "%s, which the manifest does not declare: add it to permissions.required (or .optional) in "
            "config/plugin.yaml; the platform refuses a call the plugin has no permission for"
            % "; ".join(problems)
        )
        if self.strict:
            raise UndeclaredPermissionError(message)
        warnings.warn(UndeclaredPermissionWarning(message), stacklevel=4)

    def _require_plugin(self):
        if self.plugin is None:
            raise RuntimeError("no plugin loaded: call harness.load_plugin(plugin) first")
        return self.plugin

    # -- what is registered -------------------------------------------------
    def handles(self, hook):
        """True when the plugin handles ``hook`` or declares it in its manifest."""
        return hook in self._hooks or hook in (getattr(self.plugin, "declared_hooks", None) or [])

    def _check_hook(self, hook):
        self._require_plugin()
        if self.handles(hook):
            return
        known = sorted(set(self._hooks) | set(getattr(self.plugin, "declared_hooks", None) or []))
        close = difflib.get_close_matches(str(hook), known, n=1, cutoff=0.6)
        hint = "did you mean '%s'? " % close[0] if close else ""
        raise UnknownHookError(
            "no hook '%s': the plugin neither declares it (hooks: in config/plugin.yaml) nor handles it; %s"
            "known: %s" % (hook, hint, ", ".join(known) or "none")
        )

    def get_registered_hooks(self):
        """{hook name: callable}; calling it delivers the payload like ``emit`` does (it returns
        the handler's result, or a list of results when several methods handle the hook)."""
        self._require_plugin()
        out = {}
        for name, handlers in self._hooks.items():
            out[name] = self._dispatcher(name, handlers)
        return out

    def _dispatcher(self, name, handlers):
        def dispatch(payload=None):
            results = self._deliver(name, handlers, payload)
            return results[0] if len(handlers) == 1 else results

        first = unwrapped(handlers[0])
        dispatch.__name__ = getattr(first, "__name__", name)
        dispatch.__doc__ = getattr(first, "__doc__", None)
        dispatch.__wrapped__ = handlers[0] if len(handlers) == 1 else None
        return dispatch

    def get_registered_endpoints(self):
        """{path: handler} (the bound method; call_endpoint gives status codes)."""
        self._require_plugin()
        return {path: handler for path, (handler, _methods) in self._endpoints.items()}

    def get_endpoint_methods(self, path):
        """The HTTP methods registered for a path."""
        self._require_plugin()
        return list(self._endpoints[path][1])

    # -- events and calls -----------------------------------------------------
    def _note_hook(self, hook, payload):
        _events.exercised("hooks", hook)
        _events.audit(hook, user_id=_events.field(payload, "user_id"), plugin=_events.plugin_name(self.plugin))

    def _deliver(self, hook, handlers, payload):
        results = []
        for handler in handlers:
            self._note_hook(hook, payload)
            results.append(resolve(unwrapped(handler)(payload)))
        return results

    def emit(self, hook, payload=None):
        """Deliver a hook event to every handler of it (``async def`` ones are awaited); returns
        their results, ``[]`` when the plugin declares the hook but handles it nowhere. A hook
        the plugin neither declares nor handles is an ``UnknownHookError`` with a did-you-mean.
        Exceptions from a handler propagate, so a test sees them."""
        self._check_hook(hook)
        return self._deliver(hook, self._hooks.get(hook, []), payload)

    async def emit_async(self, hook, payload=None):
        """``emit`` for async tests: awaits the handlers on the running loop."""
        self._check_hook(hook)
        results = []
        for handler in self._hooks.get(hook, []):
            self._note_hook(hook, payload)
            result = unwrapped(handler)(payload)
            results.append(await result if inspect.isawaitable(result) else result)
        return results

    def simulate_failure(self, kind="storage", message=None):
        """Make the plugin's storage raise ``StorageUnavailableError`` on every call, as when
        its database is down (``kind`` is ``'storage'`` or its alias ``'database_connection'``).
        An endpoint that lets the error escape answers 500; one that catches it answers what it
        chooses. ``simulate_failure(None)`` ends it."""
        if kind is None:
            self._storage.failure = None
            return
        if kind not in FAILURE_KINDS:
            raise ValueError("unknown failure kind %r; known: %s" % (kind, ", ".join(sorted(FAILURE_KINDS))))
        self._storage.failure = message or "simulated failure (%s): the plugin's storage is unavailable" % kind

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

    def client(self, user_id=None, permissions=None, headers=None):
        """A :class:`Client` calling this harness's endpoints as one user."""
        return Client(self, user_id=user_id, permissions=permissions, headers=headers)

    def _prepare(self, path, user_permissions, user_id, method, body, headers, query):
        """(handler, request) for a call, or (None, TestResponse) when it never reaches a handler."""
        self._require_plugin()
        method = method.upper()
        if "?" in path:
            path, _, qs = path.partition("?")
            parsed = dict(p.split("=", 1) if "=" in p else (p, "") for p in qs.split("&") if p)
            parsed.update(query or {})
            query = parsed
        limited = self._over_limit()
        if limited:
            return None, TestResponse(*limited)
        if path not in self._endpoints:
            return None, TestResponse(*_error(404, "not_found", "no endpoint %s" % path))
        handler, methods = self._endpoints[path]
        if method not in methods:
            status, payload = _error(405, "method_not_allowed", "%s does not accept %s" % (path, method))
            return None, TestResponse(status, payload, {"Allow": ", ".join(methods)})
        request = Request(
            path,
            method=method,
            user_id=user_id,
            permissions=None if user_permissions is None else list(user_permissions),
            body=body,
            headers=headers,
            query=query,
        )
        _events.exercised("endpoints", path)
        _events.audit("endpoint_call", path=path, user_id=_events.field(request, "user_id"),
                      plugin=_events.plugin_name(self.plugin))
        return unwrapped(handler), request

    def call_endpoint(self, path, user_permissions=None, user_id=None, method="GET", body=None, headers=None,
                      query=None):
        """Call the handler of ``path`` like the platform would and return a TestResponse
        (an ``async def`` handler is awaited).

        ``user_permissions``: the caller's permissions (a list). ``None`` (the default) means
        the call carries no permission information and ``require_permission`` does not
        enforce; pass a list (even ``[]``) to test enforcement."""
        handler, request = self._prepare(path, user_permissions, user_id, method, body, headers, query)
        if handler is None:
            return request
        try:
            result = resolve(handler(request))
        except Exception as e:
            return _failure(e)
        return _success(result)

    async def call_endpoint_async(self, path, user_permissions=None, user_id=None, method="GET", body=None,
                                  headers=None, query=None):
        """``call_endpoint`` for async tests: awaits the handler on the running loop."""
        handler, request = self._prepare(path, user_permissions, user_id, method, body, headers, query)
        if handler is None:
            return request
        try:
            result = handler(request)
            if inspect.isawaitable(result):
                result = await result
        except Exception as e:
            return _failure(e)
        return _success(result)


def _failure(e):
    """The response to a handler that raised: 403 for a PermissionError, else 500."""
    if isinstance(e, PermissionError):
        return TestResponse(*_error(403, "forbidden", str(e), permission=getattr(e, "permission", None)), exception=e)
    # the platform turns any other handler error into a 500
    return TestResponse(*_error(500, "internal_error", "%s: %s" % (type(e).__name__, e)), exception=e)


def _success(result):
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
