"""Who is calling: the platform's request signatures, checked by the plugin host.

A deployed plugin host (``--auth-secret-file``, as the rendered Dockerfile and
Deployment start it) believes ``X-PlexiChat-User`` and ``X-PlexiChat-Permissions``
only from a request the platform signed with the plugin's secret. Without a
secret (``plexichat-plugin dev``) the host trusts those headers from loopback
callers only. The scheme (docs/sdk.md, "Request signatures"):

    X-PlexiChat-Timestamp: <unix seconds>
    X-PlexiChat-Nonce:     <1-128 of A-Z a-z 0-9 . _ ->, new for every request
    X-PlexiChat-Signature: v1=<hex HMAC-SHA256(secret, canonical)>

    canonical = "\\n".join([
        "PLEXICHAT-HMAC-SHA256-V1",
        METHOD,                        # upper case
        request-target,                # the path and query exactly as sent
        timestamp, nonce,
        user,                          # X-PlexiChat-User, "" when absent
        permissions,                   # X-PlexiChat-Permissions, "" when absent
        hex SHA-256 of the body bytes,
    ])

A request is refused (401) when a header is missing or malformed, when its
timestamp is more than ``WINDOW_SECONDS`` from the host's clock, when the
signature does not match, or when its nonce was already used (a replay)
within the window. Standard library only.
"""
import hashlib
import heapq
import hmac
import re
import threading
import time

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "NONCE_HEADER",
    "WINDOW_SECONDS",
    "AuthError",
    "RequestVerifier",
    "canonical_request",
    "sign_request",
    "load_secret",
]

SIGNATURE_HEADER = "X-PlexiChat-Signature"
TIMESTAMP_HEADER = "X-PlexiChat-Timestamp"
NONCE_HEADER = "X-PlexiChat-Nonce"
USER_HEADER = "X-PlexiChat-User"
PERMISSIONS_HEADER = "X-PlexiChat-Permissions"
SCHEME = "PLEXICHAT-HMAC-SHA256-V1"
WINDOW_SECONDS = 300
MIN_SECRET_BYTES = 32
# Nonces remembered at once (each until its timestamp leaves the window); past this, calls are refused (503).
MAX_REMEMBERED = 200_000

_NONCE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_SIGNATURE = re.compile(r"^v1=([0-9a-f]{64})$")


class AuthError(Exception):
    """A refused request: ``status`` (401, or 503 when the replay memory is full) and a message."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def canonical_request(method, target, timestamp, nonce, user, permissions, body):
    """The bytes the signature covers."""
    digest = hashlib.sha256(body or b"").hexdigest()
    parts = [SCHEME, method.upper(), target, str(timestamp), nonce, user or "", permissions or "", digest]
    return "\n".join(parts).encode("utf-8")


def sign_request(secret, method, target, timestamp, nonce, user, permissions, body):
    """The ``X-PlexiChat-Signature`` value (what the platform sends)."""
    mac = hmac.new(secret, canonical_request(method, target, timestamp, nonce, user, permissions, body), hashlib.sha256)
    return "v1=" + mac.hexdigest()


def load_secret(path):
    """The secret's bytes from a file (the mounted Kubernetes Secret); one trailing newline is
    not part of it. ValueError with what to do when it cannot be used."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(64 * 1024 + 1)
    except OSError as e:
        raise ValueError(
            "cannot read the request-signing secret %s (%s): create the plugin's Secret (docs/deploy.md) or pass another --auth-secret-file"
            % (path, e.strerror or e)
        )
    if data.endswith(b"\r\n"):
        data = data[:-2]
    elif data.endswith(b"\n"):
        data = data[:-1]
    if len(data) < MIN_SECRET_BYTES or len(data) > 64 * 1024:
        raise ValueError(
            "the request-signing secret %s must hold %d to 65536 bytes (it has %d): generate one, e.g. head -c 48 /dev/urandom | base64"
            % (path, MIN_SECRET_BYTES, len(data))
        )
    return data


class RequestVerifier:
    """Checks signed requests against one secret, remembering nonces for the replay window."""

    def __init__(self, secret, window=WINDOW_SECONDS, clock=time.time):
        self._secret = secret
        self._window = window
        self._clock = clock
        self._seen = set()
        self._expiry = []  # heap of (last second the request is valid, nonce)
        self._lock = threading.Lock()

    def verify(self, method, target, headers, body):
        """None when the request is the platform's; AuthError otherwise."""
        get_all = getattr(headers, "get_all", None)
        if get_all is not None:
            for name in (SIGNATURE_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, USER_HEADER, PERMISSIONS_HEADER):
                if len(get_all(name) or []) > 1:
                    # One value is signed; a second one must not reach the plugin (or the identity).
                    raise AuthError(401, "duplicate_header", "the request has %s more than once" % name)
        signature = headers.get(SIGNATURE_HEADER)
        timestamp = headers.get(TIMESTAMP_HEADER)
        nonce = headers.get(NONCE_HEADER)
        if signature is None or timestamp is None or nonce is None:
            gone = [h for h, v in ((SIGNATURE_HEADER, signature), (TIMESTAMP_HEADER, timestamp), (NONCE_HEADER, nonce)) if v is None]
            raise AuthError(401, "unsigned", "the request is not signed by the platform (no %s)" % ", ".join(gone))
        m = _SIGNATURE.match(signature.strip())
        if not m:
            raise AuthError(401, "bad_signature", "%s is not v1=<64 hex digits>" % SIGNATURE_HEADER)
        if not _TIMESTAMP.match(timestamp.strip()):
            raise AuthError(401, "bad_timestamp", "%s is not a Unix time in seconds" % TIMESTAMP_HEADER)
        if not _NONCE.match(nonce):
            raise AuthError(401, "bad_nonce", "%s must be 1 to 128 of A-Z a-z 0-9 . _ -" % NONCE_HEADER)
        ts = int(timestamp.strip())
        now = self._clock()
        if abs(now - ts) > self._window:
            raise AuthError(401, "stale", "the request's timestamp is %d s from the host's clock (at most %d s)" % (abs(now - ts), self._window))
        expected = sign_request(
            self._secret, method, target, timestamp.strip(), nonce, headers.get(USER_HEADER), headers.get(PERMISSIONS_HEADER), body
        )
        if not hmac.compare_digest(expected, "v1=" + m.group(1)):
            raise AuthError(401, "bad_signature", "the request's signature does not match (a wrong secret, or the request was changed)")
        with self._lock:
            self._forget(now)
            if nonce in self._seen:
                raise AuthError(401, "replayed", "the request was already received (its nonce was used)")
            if len(self._seen) >= MAX_REMEMBERED:
                raise AuthError(503, "busy", "too many requests in the replay window; try again")
            self._seen.add(nonce)
            heapq.heappush(self._expiry, (ts + self._window, nonce))
        return None

    def _forget(self, now):
        # A nonce whose timestamp has left the window cannot come back (it would be stale).
        while self._expiry and self._expiry[0][0] < now:
            _, n = heapq.heappop(self._expiry)
            self._seen.discard(n)
