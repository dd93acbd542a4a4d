"""host_auth: the platform's request signatures, with a fake clock (the HTTP side:
test/e2e/deploy-host.e2e.test.ts)."""
import hashlib
import hmac

import pytest

from plexichat_plugin_sdk import host_auth
from plexichat_plugin_sdk.host_auth import AuthError, RequestVerifier, canonical_request, load_secret, sign_request

SECRET = b"s" * 40


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def headers(ts, nonce, user="u1", permissions="message_read", secret=SECRET, method="POST", target="/api/x?a=1", body=b"{}"):
    h = {
        "X-PlexiChat-Timestamp": str(ts),
        "X-PlexiChat-Nonce": nonce,
        "X-PlexiChat-Signature": sign_request(secret, method, target, str(ts), nonce, user, permissions, body),
    }
    if user is not None:
        h["X-PlexiChat-User"] = user
    if permissions is not None:
        h["X-PlexiChat-Permissions"] = permissions
    return h


def test_the_canonical_request_is_the_documented_eight_lines():
    body = b'{"a": 1}'
    text = canonical_request("post", "/p?q=1", "100", "n1", None, "a,b", body).decode()
    assert text == "\n".join(["PLEXICHAT-HMAC-SHA256-V1", "POST", "/p?q=1", "100", "n1", "", "a,b", hashlib.sha256(body).hexdigest()])
    mac = hmac.new(SECRET, text.encode(), hashlib.sha256).hexdigest()
    assert sign_request(SECRET, "POST", "/p?q=1", "100", "n1", None, "a,b", body) == "v1=" + mac


def test_a_nonce_is_remembered_until_its_timestamp_leaves_the_window_and_then_it_would_be_stale_anyway():
    clock = Clock(1_000_000)
    v = RequestVerifier(SECRET, window=300, clock=clock)
    h = headers(1_000_000, "n1")
    assert v.verify("POST", "/api/x?a=1", h, b"{}") is None
    with pytest.raises(AuthError) as e:
        v.verify("POST", "/api/x?a=1", h, b"{}")
    assert (e.value.status, e.value.code) == (401, "replayed")
    clock.now = 1_000_300  # still inside the window: still remembered
    with pytest.raises(AuthError) as e:
        v.verify("POST", "/api/x?a=1", h, b"{}")
    assert e.value.code == "replayed"
    clock.now = 1_000_301  # outside: forgotten, and the request is stale
    with pytest.raises(AuthError) as e:
        v.verify("POST", "/api/x?a=1", h, b"{}")
    assert e.value.code == "stale"
    assert v.verify("POST", "/api/x?a=1", headers(1_000_301, "n2"), b"{}") is None
    assert len(v._seen) == 1  # n1 was forgotten


def test_a_full_replay_memory_refuses_with_503_instead_of_forgetting(monkeypatch):
    monkeypatch.setattr(host_auth, "MAX_REMEMBERED", 3)
    clock = Clock(5000)
    v = RequestVerifier(SECRET, clock=clock)
    for i in range(3):
        v.verify("POST", "/api/x?a=1", headers(5000, "n%d" % i), b"{}")
    with pytest.raises(AuthError) as e:
        v.verify("POST", "/api/x?a=1", headers(5000, "n9"), b"{}")
    assert (e.value.status, e.value.code) == (503, "busy")
    clock.now = 5301  # the three leave the window
    assert v.verify("POST", "/api/x?a=1", headers(5301, "n9"), b"{}") is None


def test_absent_and_empty_identity_headers_sign_alike_but_a_changed_one_does_not():
    v = RequestVerifier(SECRET, clock=Clock(10))
    h = headers(10, "a", user=None, permissions=None)
    assert v.verify("POST", "/api/x?a=1", h, b"{}") is None
    h2 = headers(10, "b", user=None, permissions=None)
    h2["X-PlexiChat-Permissions"] = "admin"
    with pytest.raises(AuthError) as e:
        v.verify("POST", "/api/x?a=1", h2, b"{}")
    assert e.value.code == "bad_signature"


def test_load_secret(tmp_path):
    f = tmp_path / "secret"
    f.write_bytes(b"x" * 32 + b"\n")
    assert load_secret(str(f)) == b"x" * 32
    f.write_bytes(b"x" * 31 + b"\n")
    with pytest.raises(ValueError, match="must hold 32 to 65536 bytes"):
        load_secret(str(f))
    with pytest.raises(ValueError, match="cannot read the request-signing secret"):
        load_secret(str(tmp_path / "missing"))


def test_without_a_secret_only_a_loopback_peer_is_believed():
    from plexichat_plugin_sdk.host import _peer_is_loopback

    for addr in ("127.0.0.1", "127.8.9.1", "::1", "::ffff:127.0.0.1"):
        assert _peer_is_loopback(addr), addr
    for addr in ("10.0.0.5", "192.168.1.2", "::ffff:10.0.0.5", "fe80::1%eth0", "2001:db8::1", "not-an-ip"):
        assert not _peer_is_loopback(addr), addr


def test_identity_by_trust(tmp_path):
    import types

    from plexichat_plugin_sdk.host import Host

    options = types.SimpleNamespace(user=None, permissions=None)
    host = Host.__new__(Host)
    host.options = options
    gen = types.SimpleNamespace(plugin=types.SimpleNamespace(declared_permissions=["message_read", "admin_access"]))
    forged = {"X-PlexiChat-User": "admin", "X-PlexiChat-Permissions": "admin_access"}
    assert host.identity(forged, gen, "headers") == ("admin", ["admin_access"])
    # A remote caller of a host without a secret: its headers are ignored.
    assert host.identity(forged, gen, "default") == ("dev_user", ["message_read", "admin_access"])
    # Signed: the signed headers only; no permissions header is no permission.
    assert host.identity({"X-PlexiChat-User": "u1"}, gen, "signed") == ("u1", [])
    assert host.identity(forged, gen, "signed") == ("admin", ["admin_access"])
