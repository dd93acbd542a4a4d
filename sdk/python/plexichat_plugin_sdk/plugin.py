"""The Plugin base class, the @hook / @endpoint decorators and the other
registration style (``self.hooks`` / ``self.endpoints`` dicts built in ``__init__``).

Decorators mark a function and wrap it once, so that every call of a handler,
direct or through the harness, is recorded (audit entries for a listening
``SecurityTestHarness``, hook/endpoint coverage for ``plexichat-plugin test``).
The registry of a class is collected from the marked functions of the class and
its bases (:func:`collect_handlers`), so a subclass inherits and can override
handlers by method name; :func:`plugin_handlers` adds an instance's dicts.
"""
import copy
import functools
import inspect
import json
import logging
import re

from . import _events
from ._endpoint import endpoint_problem
from .manifest import load_manifest

__all__ = [
    "Plugin",
    "RegistrationError",
    "Request",
    "Response",
    "Storage",
    "StorageUnavailableError",
    "collect_handlers",
    "endpoint",
    "hook",
    "plugin_handlers",
]

_HOOK_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def hook(name):
    """Register the decorated method as a handler of the platform event ``name``."""
    if not isinstance(name, str) or not _HOOK_NAME.match(name):
        raise ValueError("hook name must be a snake_case string, got %r" % (name,))

    def decorate(fn):
        wrapper = _recording(fn)
        wrapper.__plexichat_hooks__ = tuple(getattr(fn, "__plexichat_hooks__", ())) + (name,)
        return wrapper

    return decorate


def endpoint(path, methods=None):
    """Register the decorated method as the handler of HTTP ``path`` (default method GET)."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError("endpoint path must be an absolute path such as /api/v1/my_plugin/status, got %r" % (path,))
    if methods is None:
        methods = ["GET"]
    if isinstance(methods, str):
        methods = [methods]
    norm = tuple(m.upper() for m in methods)
    for m in norm:
        if m not in _METHODS:
            raise ValueError("unknown HTTP method %r for endpoint %s" % (m, path))
    problem = endpoint_problem(path)
    if problem:
        raise ValueError("endpoint %r %s (%s)" % (path, problem[0], problem[1]))

    def decorate(fn):
        wrapper = _recording(fn)
        wrapper.__plexichat_endpoints__ = tuple(getattr(fn, "__plexichat_endpoints__", ())) + ((path, norm),)
        return wrapper

    return decorate


def _note_call(wrapper, args, kwargs):
    """Record a call of a decorated handler (audit entries and coverage)."""
    owner = args[0] if args and isinstance(args[0], Plugin) else None
    rest = args[1:] if owner is not None else args
    arg = rest[0] if rest else next(iter(kwargs.values()), None)
    plugin = _events.plugin_name(owner)
    for name in getattr(wrapper, "__plexichat_hooks__", ()):
        _events.exercised("hooks", name)
        _events.audit(name, user_id=_events.field(arg, "user_id"), plugin=plugin)
    for path, _methods in getattr(wrapper, "__plexichat_endpoints__", ()):
        _events.exercised("endpoints", path)
        _events.audit("endpoint_call", path=path, user_id=_events.field(arg, "user_id"), plugin=plugin)


def _recording(fn):
    """fn wrapped (once) so that its calls are recorded; async functions stay async."""
    if getattr(fn, "__plexichat_wrapper__", None) is fn:
        return fn
    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def wrapper(*args, **kwargs):
            _note_call(wrapper, args, kwargs)
            return await fn(*args, **kwargs)
    else:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            _note_call(wrapper, args, kwargs)
            return fn(*args, **kwargs)
    wrapper.__plexichat_wrapper__ = wrapper
    return wrapper


def unwrapped(handler):
    """The handler without the SDK's recording layer (the harness records calls itself)."""
    func = getattr(handler, "__func__", handler)
    if getattr(func, "__plexichat_wrapper__", None) is func:
        inner = func.__wrapped__
        owner = getattr(handler, "__self__", None)
        return inner.__get__(owner, type(owner)) if owner is not None else inner
    return handler


def collect_handlers(cls):
    """({hook: [method names]}, {path: (method name, methods)}) for a class and its bases."""
    attrs = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            fn = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
            if callable(fn) and (hasattr(fn, "__plexichat_hooks__") or hasattr(fn, "__plexichat_endpoints__")):
                attrs[attr] = fn
            elif attr in attrs:
                del attrs[attr]  # overridden by something that is no handler
    hooks = {}
    endpoints = {}
    for attr, fn in attrs.items():
        for name in getattr(fn, "__plexichat_hooks__", ()):
            hooks.setdefault(name, []).append(attr)
        for path, methods in getattr(fn, "__plexichat_endpoints__", ()):
            if path in endpoints and endpoints[path][0] != attr:
                raise ValueError(
                    "endpoint %s is registered twice (%s and %s)" % (path, endpoints[path][0], attr)
                )
            endpoints[path] = (attr, methods)
    return hooks, endpoints


class RegistrationError(ValueError):
    """A plugin's hooks or endpoints cannot be registered as written."""


def _same_handler(a, b):
    return getattr(a, "__self__", None) is getattr(b, "__self__", None) and (
        getattr(a, "__func__", a) is getattr(b, "__func__", b)
    )


def _describe(handler):
    return getattr(handler, "__name__", None) or repr(handler)


def _dict_table(plugin, attr):
    table = getattr(plugin, attr, None)
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise RegistrationError(
            "%s.%s is a %s; it must be a dict built in __init__ (see docs/sdk.md)"
            % (type(plugin).__name__, attr, type(table).__name__)
        )
    return table


def _methods_of(path, value, where):
    """(handler, methods) of a self.endpoints value: a callable, or (callable, methods)."""
    methods = ["GET"]
    if isinstance(value, tuple) and len(value) == 2 and callable(value[0]):
        value, methods = value
        methods = [methods] if isinstance(methods, str) else list(methods)
    if not callable(value):
        raise RegistrationError(
            "%s[%r] is %r; give a method (self.handler) or (self.handler, ['GET', 'POST'])" % (where, path, value)
        )
    norm = tuple(str(m).upper() for m in methods)
    for m in norm:
        if m not in _METHODS:
            raise RegistrationError("%s[%r]: unknown HTTP method %r" % (where, path, m))
    return value, norm


def plugin_handlers(plugin):
    """Every handler of a plugin instance, in both registration styles:
    ``({hook: [callable, ...]}, {path: (callable, methods)})``.

    Decorated methods come first; then the ``self.hooks`` dict (hook name -> a
    callable or a list of callables) and the ``self.endpoints`` dict (path -> a
    callable, or ``(callable, methods)``; GET by default). The same method
    registered both ways counts once; one path served by two different
    handlers is a :class:`RegistrationError`, as is a key that is not a string.
    """
    by_attr, paths = collect_handlers(type(plugin))
    hooks = {name: [getattr(plugin, a) for a in attrs] for name, attrs in by_attr.items()}
    endpoints = {path: (getattr(plugin, a), methods) for path, (a, methods) in paths.items()}
    cls = type(plugin).__name__
    for name, value in _dict_table(plugin, "hooks").items():
        where = "%s.hooks" % cls
        if not isinstance(name, str) or not _HOOK_NAME.match(name):
            raise RegistrationError("%s: the key %r is not a hook name (a snake_case string such as 'message_sent')"
                                    % (where, name))
        handlers = list(value) if isinstance(value, (list, tuple)) else [value]
        for handler in handlers:
            if not callable(handler):
                raise RegistrationError("%s[%r] is %r, not a method (write self.handler)" % (where, name, handler))
            known = hooks.setdefault(name, [])
            if not any(_same_handler(handler, h) for h in known):
                known.append(handler)
    for path, value in _dict_table(plugin, "endpoints").items():
        where = "%s.endpoints" % cls
        if not isinstance(path, str) or not path.startswith("/"):
            raise RegistrationError("%s: the key %r is not an absolute path such as '/api/v1/my_plugin/status'"
                                    % (where, path))
        handler, methods = _methods_of(path, value, where)
        problem = endpoint_problem(path)
        if problem:
            raise RegistrationError("%s: the key %r %s (%s)" % (where, path, problem[0], problem[1]))
        if path in endpoints:
            other, other_methods = endpoints[path]
            if not _same_handler(handler, other):
                raise RegistrationError("endpoint %s is registered twice (%s and %s in %s)"
                                        % (path, _describe(other), _describe(handler), where))
            methods = tuple(other_methods) + tuple(m for m in methods if m not in other_methods)
            handler = other
        endpoints[path] = (handler, methods)
    return hooks, endpoints


class StorageUnavailableError(RuntimeError):
    """The plugin's storage cannot be reached. Every ``Storage`` call raises it while
    ``PluginTestHarness.simulate_failure('storage')`` is in effect; an endpoint that
    lets it escape answers 500."""


class Storage(object):
    """Key-value storage for a plugin's data. Values must be JSON-serialisable;
    they are stored as JSON, so what ``get`` returns is a copy, as it would be
    from a database. The test harness keeps the same storage across
    ``restart_plugin()``; attributes of the plugin object are not kept."""

    def __init__(self):
        self._data = {}
        #: Why the storage is down (set by PluginTestHarness.simulate_failure), or None.
        self.failure = None

    def _reachable(self):
        if self.failure is not None:
            raise StorageUnavailableError(self.failure)

    def get(self, key, default=None):
        self._reachable()
        raw = self._data.get(key)
        return copy.deepcopy(default) if raw is None else json.loads(raw)

    def set(self, key, value):
        self._reachable()
        try:
            self._data[key] = json.dumps(value)
        except (TypeError, ValueError) as e:
            raise TypeError("storage values must be JSON-serialisable (%s): %s" % (key, e))

    def delete(self, key):
        self._reachable()
        self._data.pop(key, None)

    def keys(self):
        self._reachable()
        return sorted(self._data)

    def clear(self):
        self._reachable()
        self._data.clear()

    def __contains__(self, key):
        self._reachable()
        return key in self._data

    def __len__(self):
        self._reachable()
        return len(self._data)


class Request(object):
    """What an endpoint handler receives."""

    def __init__(self, path, method="GET", user_id=None, permissions=None, body=None, headers=None, query=None):
        self.path = path
        self.method = method.upper()
        self.user_id = user_id
        self.permissions = permissions
        self.body = body
        self.headers = dict(headers or {})
        self.query = dict(query or {})

    def json(self):
        return self.body

    def __repr__(self):
        return "Request(%s %s, user_id=%r)" % (self.method, self.path, self.user_id)


class Response(object):
    """Return one from a handler to choose the status code; a plain return value is a 200."""

    def __init__(self, body=None, status_code=200, headers=None):
        self.body = body
        self.status_code = int(status_code)
        self.headers = dict(headers or {})


class Plugin(object):
    """Base class of a PlexiChat plugin.

    ``__init__`` loads the plugin's manifest (see :mod:`.manifest` for where
    it is looked for) and sets:

    ``manifest`` (the whole dict), ``name``, ``version``, ``author``,
    ``description``, ``category``, ``settings`` (a dict),
    ``required_permissions``, ``optional_permissions``,
    ``declared_hooks``, ``declared_endpoints``, ``storage`` and ``logger``.

    Override ``on_load`` / ``on_unload`` to run code when the platform (or
    the test harness) loads or unloads the plugin.
    """

    #: Optional path of the plugin.yaml to load, overriding the search.
    manifest_path = None

    def __init__(self, manifest=None):
        data = copy.deepcopy(manifest) if manifest is not None else load_manifest(type(self))
        self.manifest = data
        info = data.get("plugin") or {}
        meta = data.get("metadata") or {}
        perms = data.get("permissions") or {}
        self.name = info.get("name")
        self.version = None if info.get("version") is None else str(info.get("version"))
        self.author = info.get("author")
        self.description = info.get("description")
        self.category = meta.get("category")
        self.settings = dict(data.get("settings") or {})
        self.required_permissions = list(perms.get("required") or [])
        self.optional_permissions = list(perms.get("optional") or [])
        self.declared_hooks = list(data.get("hooks") or [])
        self.declared_endpoints = list(data.get("endpoints") or [])
        self.storage = Storage()
        self.logger = logging.getLogger("plexichat.plugin.%s" % (self.name or type(self).__name__))

    @property
    def declared_permissions(self):
        """Required and optional permissions together."""
        return self.required_permissions + [p for p in self.optional_permissions if p not in self.required_permissions]

    def on_load(self):
        """Called after the plugin is loaded (and after each restart)."""

    def on_unload(self):
        """Called before the plugin is unloaded or restarted."""

    def __repr__(self):
        return "<%s %s %s>" % (type(self).__name__, self.name, self.version)
