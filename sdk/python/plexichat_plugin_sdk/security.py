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

Every check is an audit event ``{action: 'permission_check', permission,
granted, enforced, user_id, plugin, time}`` (one per permission named), seen by
a listening :class:`SecurityTestHarness`, which also offers authenticated
encryption for tests of data at rest.
"""
import collections
import functools
import inspect
import threading

from . import _events
from ._closing import Closing

__all__ = [
    "DEFAULT_AUDIT_ENTRIES",
    "MissingPermissionError",
    "SecurityTestHarness",
    "check_permissions",
    "require_permission",
    "required_permissions",
]

#: How many audit entries a SecurityTestHarness keeps (the oldest are dropped first).
DEFAULT_AUDIT_ENTRIES = 10000
CRYPTOGRAPHY_HINT = (
    "install python3-cryptography (Debian/Ubuntu: sudo apt-get install -y python3-cryptography) "
    "or 'python3 -m pip install cryptography', and run the tests with that interpreter"
)

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


def check_permissions(request, names, plugin=None):
    """Raise MissingPermissionError unless ``request`` grants every name (see the module docs)."""
    granted = _request_permissions(request)
    enforced = isinstance(granted, _ENFORCED_TYPES)
    for name in names:
        ok = not enforced or name in granted
        if _events.listening():
            _events.audit(
                "permission_check",
                permission=name,
                granted=ok,
                enforced=enforced,
                user_id=_events.field(request, "user_id"),
                plugin=_events.plugin_name(plugin),
            )
        if not ok:
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

        def check(args, kwargs):
            if kw_name is not None and kw_name in kwargs:
                request = kwargs[kw_name]
            elif len(args) > index:
                request = args[index]
            else:
                request = None
            check_permissions(request, names, args[0] if index == 1 and args else None)

        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def wrapper(*args, **kwargs):
                check(args, kwargs)
                return await fn(*args, **kwargs)
        else:
            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                check(args, kwargs)
                return fn(*args, **kwargs)

        wrapper.__plexichat_permissions__ = tuple(getattr(fn, "__plexichat_permissions__", ())) + tuple(names)
        return wrapper

    return decorate


def required_permissions(fn):
    """The permissions a handler was decorated with (outermost last)."""
    return tuple(getattr(fn, "__plexichat_permissions__", ()))


class SecurityTestHarness(Closing):
    """Security checks for tests: the audit log, and authenticated encryption.

    From creation until ``close()`` it listens to the SDK's audit events: every
    call of a hook handler (``{action: <hook name>, user_id, plugin, time}``,
    direct or through ``PluginTestHarness``), every ``require_permission`` check
    (``{action: 'permission_check', permission, granted, enforced, user_id,
    plugin, time}``) and every endpoint call (``{action: 'endpoint_call', path,
    user_id, plugin, time}``). It keeps the last ``max_entries`` (thread-safe);
    ``dropped`` counts the older ones it let go. When no harness listens,
    nothing is recorded at all.

    ``encrypt_data`` / ``decrypt_data`` use AES-256-GCM from the
    ``cryptography`` package with a random key per harness and a random nonce
    per call; a tampered or foreign token fails to decrypt. Where the package
    is missing they raise ``RuntimeError`` saying how to install it.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, max_entries=DEFAULT_AUDIT_ENTRIES, key=None):
        if int(max_entries) < 1:
            raise ValueError("max_entries must be at least 1")
        self._log = collections.deque(maxlen=int(max_entries))
        self._log_lock = threading.Lock()
        self.dropped = 0
        self._key = key
        self._aead = None
        self._closed = False
        _events.add_listener(self)

    # -- the audit log ----------------------------------------------------------
    def _receive(self, entry):
        with self._log_lock:
            if len(self._log) == self._log.maxlen:
                self.dropped += 1
            self._log.append(entry)

    def get_audit_logs(self, action=None):
        """The entries recorded since this harness was created (copies, oldest first);
        with ``action``, only those whose action is that."""
        with self._log_lock:
            entries = list(self._log)
        return [dict(e) for e in entries if action is None or e["action"] == action]

    def clear_audit_logs(self):
        with self._log_lock:
            self._log.clear()
            self.dropped = 0

    def close(self):
        """Stop listening (the entries recorded so far stay readable)."""
        if not self._closed:
            self._closed = True
            _events.remove_listener(self)

    # -- encryption -------------------------------------------------------------
    def _cipher(self):
        if self._aead is None:
            try:
                from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            except ImportError as e:
                raise RuntimeError(
                    "encrypt_data/decrypt_data need the 'cryptography' package (AES-256-GCM), which this "
                    "Python cannot import (%s): %s" % (e, CRYPTOGRAPHY_HINT)
                )
            if self._key is None:
                self._key = AESGCM.generate_key(bit_length=256)
            if len(self._key) != 32:
                raise ValueError("an AES-256 key is 32 bytes, got %d" % len(self._key))
            self._aead = AESGCM(self._key)
        return self._aead

    def encrypt_data(self, data):
        """Encrypt ``data`` (str or bytes) with AES-256-GCM; returns a URL-safe base64 str
        (nonce + ciphertext + tag). Decrypting it gives back the same type."""
        import base64
        import os

        kind = b"s" if isinstance(data, str) else b"b"
        if kind == b"s":
            data = data.encode("utf-8")
        elif not isinstance(data, (bytes, bytearray)):
            raise TypeError("encrypt_data takes str or bytes, got %s" % type(data).__name__)
        nonce = os.urandom(12)
        sealed = self._cipher().encrypt(nonce, bytes(data), kind)
        return base64.urlsafe_b64encode(kind + nonce + sealed).decode("ascii")

    def decrypt_data(self, token):
        """Decrypt what ``encrypt_data`` returned; ``ValueError`` when it was altered or
        encrypted under another key."""
        import base64
        import binascii

        aead = self._cipher()
        try:
            raw = base64.urlsafe_b64decode(token.encode("ascii") if isinstance(token, str) else token)
        except (binascii.Error, ValueError, TypeError, AttributeError) as e:
            raise ValueError("not a token from encrypt_data: %s" % e)
        kind, nonce, sealed = raw[:1], raw[1:13], raw[13:]
        if kind not in (b"s", b"b") or len(nonce) != 12:
            raise ValueError("not a token from encrypt_data")
        from cryptography.exceptions import InvalidTag

        try:
            data = aead.decrypt(nonce, sealed, kind)
        except InvalidTag:
            raise ValueError("the data was altered, or encrypted with another key (authentication failed)")
        return data.decode("utf-8") if kind == b"s" else data
