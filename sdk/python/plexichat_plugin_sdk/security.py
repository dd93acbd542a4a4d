"""Permission checks for endpoint handlers.

``require_permission(name, ...)`` wraps a handler that takes a request. When
the handler is called, the request's permissions are looked up as
``request.permissions`` (or ``request["permissions"]`` for a dict request):

* a real ``list``, ``tuple``, ``set`` or ``frozenset`` is **enforced**: every
  named permission must be in it, otherwise :class:`MissingPermissionError`
  (a ``PermissionError``) is raised and the handler does not run;
* anything else (no attribute, ``None``, a ``unittest.mock.Mock``) means the
  caller carries no permission information, and the check is **not
  enforced**.

The platform always hands a handler a request with a real permission set, so
there every call is enforced. The second rule keeps unit tests that call a
handler directly with a bare ``Mock()`` request working; to test the check,
set ``request.permissions = [...]`` or use
``PluginTestHarness.call_endpoint(..., user_permissions=[...])``.
"""
import functools
import inspect

__all__ = ["MissingPermissionError", "check_permissions", "require_permission", "required_permissions"]

_ENFORCED_TYPES = (list, tuple, set, frozenset)


class MissingPermissionError(PermissionError):
    def __init__(self, permission, granted=None):
        self.permission = permission
        self.granted = granted
        super().__init__("permission '%s' is required" % permission)


def _request_permissions(request):
    if isinstance(request, dict):
        return request.get("permissions")
    return getattr(request, "permissions", None)


def check_permissions(request, names):
    """Raise MissingPermissionError unless ``request`` grants every name (see the module docs)."""
    granted = _request_permissions(request)
    if not isinstance(granted, _ENFORCED_TYPES):
        return
    for name in names:
        if name not in granted:
            raise MissingPermissionError(name, list(granted))


def _request_index(fn):
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return "request", 1
    if "request" in params:
        return "request", params.index("request")
    if params and params[0] in ("self", "cls"):
        return (params[1] if len(params) > 1 else None), 1
    return (params[0] if params else None), 0


def require_permission(*names):
    """Decorator: the handler runs only when the request has every permission named."""
    if not names or not all(isinstance(n, str) and n for n in names):
        raise TypeError("require_permission() needs one or more permission names")

    def decorate(fn):
        kw_name, index = _request_index(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if kw_name is not None and kw_name in kwargs:
                request = kwargs[kw_name]
            elif len(args) > index:
                request = args[index]
            else:
                request = None
            check_permissions(request, names)
            return fn(*args, **kwargs)

        wrapper.__plexichat_permissions__ = tuple(getattr(fn, "__plexichat_permissions__", ())) + tuple(names)
        return wrapper

    return decorate


def required_permissions(fn):
    """The permissions a handler was decorated with (outermost last)."""
    return tuple(getattr(fn, "__plexichat_permissions__", ()))
