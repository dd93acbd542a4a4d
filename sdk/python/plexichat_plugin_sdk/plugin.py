"""The Plugin base class and the @hook / @endpoint decorators.

Decorators only mark functions; the registry of a class is collected from the
marked functions of the class and its bases (:func:`collect_handlers`), so a
subclass inherits and can override handlers by method name.
"""
import copy
import json
import logging
import re

from .manifest import load_manifest

__all__ = ["Plugin", "Request", "Response", "Storage", "collect_handlers", "endpoint", "hook"]

_HOOK_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def hook(name):
    """Register the decorated method as a handler of the platform event ``name``."""
    if not isinstance(name, str) or not _HOOK_NAME.match(name):
        raise ValueError("hook name must be a snake_case string, got %r" % (name,))

    def decorate(fn):
        fn.__plexichat_hooks__ = tuple(getattr(fn, "__plexichat_hooks__", ())) + (name,)
        return fn

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

    def decorate(fn):
        fn.__plexichat_endpoints__ = tuple(getattr(fn, "__plexichat_endpoints__", ())) + ((path, norm),)
        return fn

    return decorate


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


class Storage(object):
    """Key-value storage for a plugin's data. Values must be JSON-serialisable;
    they are stored as JSON, so what ``get`` returns is a copy, as it would be
    from a database. The test harness keeps the same storage across
    ``restart_plugin()``; attributes of the plugin object are not kept."""

    def __init__(self):
        self._data = {}

    def get(self, key, default=None):
        raw = self._data.get(key)
        return copy.deepcopy(default) if raw is None else json.loads(raw)

    def set(self, key, value):
        try:
            self._data[key] = json.dumps(value)
        except (TypeError, ValueError) as e:
            raise TypeError("storage values must be JSON-serialisable (%s): %s" % (key, e))

    def delete(self, key):
        self._data.pop(key, None)

    def keys(self):
        return sorted(self._data)

    def clear(self):
        self._data.clear()

    def __contains__(self, key):
        return key in self._data

    def __len__(self):
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
