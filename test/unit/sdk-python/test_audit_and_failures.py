"""SecurityTestHarness (audit log, encryption) and simulate_failure."""
import gc
import sys
import threading
from unittest.mock import Mock

import pytest

from plexichat_plugin_sdk import Plugin, Response, StorageUnavailableError, endpoint, hook
from plexichat_plugin_sdk import _events
from yaml import safe_load as loads
from plexichat_plugin_sdk.security import SecurityTestHarness, require_permission
from plexichat_plugin_sdk.testing import PluginTestHarness

from conftest import MANIFEST


class Audited(Plugin):
    def __init__(self):
        super().__init__(manifest=loads(MANIFEST))
        self.seen = 0

    @hook("message_sent")
    def on_message(self, message):
        self.seen += 1

    @endpoint("/api/v1/demo/status")
    @require_permission("message_read")
    def status(self, request):
        return {"count": self.storage.get("count", 0)}

    @endpoint("/api/v1/demo/careful")
    def careful(self, request):
        try:
            return {"count": self.storage.get("count", 0)}
        except StorageUnavailableError:
            return Response({"error": "storage_down"}, status_code=503)


@pytest.fixture
def security():
    s = SecurityTestHarness()
    yield s
    s.close()


def test_a_direct_hook_call_is_audited_with_its_user(security):
    Audited().on_message({"user_id": "u1", "content": "hi"})
    (entry,) = security.get_audit_logs()
    assert entry["action"] == "message_sent"
    assert (entry["user_id"], entry["plugin"]) == ("u1", "demo_plugin")
    assert isinstance(entry["time"], float)


def test_hooks_through_the_harness_and_permission_checks_are_audited(security):
    h = PluginTestHarness()
    h.load_plugin(Audited())
    h.emit("message_sent", {"user_id": "u2"})
    assert h.call_endpoint("/api/v1/demo/status", user_permissions=[], user_id="u3").status_code == 403
    h.call_endpoint("/api/v1/demo/status", user_id="u4")
    actions = [e["action"] for e in security.get_audit_logs()]
    assert actions == ["message_sent", "endpoint_call", "permission_check", "endpoint_call", "permission_check"]
    denied, unenforced = security.get_audit_logs("permission_check")
    assert denied == dict(denied, permission="message_read", granted=False, enforced=True, user_id="u3")
    assert unenforced == dict(unenforced, granted=True, enforced=False, user_id="u4")
    h.close()


def test_a_mock_request_attribute_is_no_user_id(security):
    Audited().status(Mock())
    assert security.get_audit_logs("permission_check")[0]["user_id"] is None


def test_nothing_is_recorded_without_a_listener():
    gc.collect()
    assert not _events.listening()
    Audited().on_message({"user_id": "before"})
    with SecurityTestHarness() as s:
        assert s.get_audit_logs() == []
        Audited().on_message({"user_id": "during"})
    Audited().on_message({"user_id": "after"})
    assert [e["user_id"] for e in s.get_audit_logs()] == ["during"]
    assert not _events.listening()


def test_a_dropped_harness_stops_listening():
    s = SecurityTestHarness()
    assert _events.listening()
    del s
    gc.collect()
    assert not _events.listening()


def test_the_log_is_bounded(security):
    small = SecurityTestHarness(max_entries=5)
    plugin = Audited()
    for i in range(12):
        plugin.on_message({"user_id": "u%d" % i})
    assert [e["user_id"] for e in small.get_audit_logs()] == ["u7", "u8", "u9", "u10", "u11"]
    assert small.dropped == 7
    assert len(security.get_audit_logs()) == 12
    small.close()
    with pytest.raises(ValueError):
        SecurityTestHarness(max_entries=0)


def test_the_log_is_thread_safe(security):
    plugin = Audited()

    def work():
        for _ in range(500):
            plugin.on_message({"user_id": "t"})

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(security.get_audit_logs()) == 4000


def test_encryption_round_trips_and_is_authenticated(security):
    token = security.encrypt_data("sensitive user information")
    assert "sensitive" not in token
    assert token != security.encrypt_data("sensitive user information")  # a fresh nonce each time
    assert security.decrypt_data(token) == "sensitive user information"
    assert security.decrypt_data(security.encrypt_data(b"\x00\x01")) == b"\x00\x01"
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(ValueError, match="altered"):
        security.decrypt_data(tampered)
    with SecurityTestHarness() as other:
        with pytest.raises(ValueError, match="another key"):
            other.decrypt_data(token)
    with pytest.raises(ValueError):
        security.decrypt_data("not base64 at all!")
    with pytest.raises(TypeError):
        security.encrypt_data(42)


def test_without_cryptography_encryption_says_what_to_install(monkeypatch):
    for name in list(sys.modules):
        if name == "cryptography" or name.startswith("cryptography."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "cryptography", None)
    with SecurityTestHarness() as s:
        with pytest.raises(RuntimeError) as info:
            s.encrypt_data("x")
    assert "python3-cryptography" in str(info.value)
    assert "AES-256-GCM" in str(info.value)


@pytest.mark.parametrize("kind", ["storage", "database_connection"])
def test_a_storage_failure_escaping_an_endpoint_is_a_500(kind):
    h = PluginTestHarness()
    h.load_plugin(Audited())
    h.simulate_failure(kind)
    r = h.call_endpoint("/api/v1/demo/status")
    assert r.status_code == 500
    assert "StorageUnavailableError" in r.json()["message"] and r.json()["error"] == "internal_error"
    assert isinstance(r.exception, StorageUnavailableError)
    with pytest.raises(StorageUnavailableError, match=kind):
        h.plugin.storage.set("count", 1)
    h.simulate_failure(None)
    assert h.call_endpoint("/api/v1/demo/status").json() == {"count": 0}


def test_a_handler_that_catches_the_failure_answers_what_it_chooses():
    h = PluginTestHarness()
    h.load_plugin(Audited())
    h.simulate_failure("storage")
    r = h.call_endpoint("/api/v1/demo/careful")
    assert (r.status_code, r.json()) == (503, {"error": "storage_down"})
    # the failure outlives a restart, as a database outage would
    h.restart_plugin()
    assert h.call_endpoint("/api/v1/demo/status").status_code == 500


def test_an_unknown_failure_kind_is_refused():
    h = PluginTestHarness()
    with pytest.raises(ValueError, match="database_connection, storage"):
        h.simulate_failure("network")
