from unittest.mock import MagicMock, Mock

import pytest

from plexichat_plugin_sdk import Plugin, Response, endpoint, hook
from plexichat_plugin_sdk.security import MissingPermissionError, require_permission, required_permissions
from plexichat_plugin_sdk.testing import PluginTestHarness, UnknownHookError, parse_cpu, parse_memory_mb

from conftest import MANIFEST
from yaml import safe_load as loads


class Demo(Plugin):
    def __init__(self):
        super().__init__(manifest=loads(MANIFEST))
        self.seen = []
        self.loads = 0
        self.unloads = 0

    def on_load(self):
        self.loads += 1

    def on_unload(self):
        self.unloads += 1

    @hook("message_sent")
    def on_message(self, m):
        self.seen.append(m)
        self.storage.set("count", self.storage.get("count", 0) + 1)
        return "first"

    @hook("message_sent")
    def also_on_message(self, m):
        return "second"

    @hook("user_login")
    def on_login(self, d):
        raise RuntimeError("hook failed")

    @endpoint("/api/v1/demo/status")
    @require_permission("message_read")
    def status(self, request):
        return {"seen": len(self.seen), "user": request.user_id, "count": self.storage.get("count", 0)}

    @require_permission("admin_access")
    @endpoint("/api/v1/demo/admin", methods=["POST"])
    def admin(self, request):
        return Response({"created": request.json()}, status_code=201, headers={"X-Demo": "1"})

    @endpoint("/api/v1/demo/boom")
    def boom(self, request):
        raise KeyError("missing")

    @endpoint("/api/v1/demo/odd")
    def odd(self, request):
        return {"value": object()}

    @endpoint("/api/v1/demo/two")
    @require_permission("message_read", "admin_access")
    def two(self, request):
        return "ok"


@pytest.fixture
def harness():
    h = PluginTestHarness()
    h.load_plugin(Demo())
    yield h
    h.close()


def test_mock_request_is_not_enforced_but_a_real_list_is():
    p = Demo()
    assert p.status(Mock())["seen"] == 0
    assert p.status(MagicMock())["seen"] == 0
    req = Mock()
    req.permissions = []
    with pytest.raises(PermissionError) as info:
        p.status(req)
    assert isinstance(info.value, MissingPermissionError)
    assert info.value.permission == "message_read"
    for granted in (["message_read"], ("message_read",), {"message_read"}, frozenset(["message_read"])):
        req.permissions = granted
        assert p.status(req)["seen"] == 0


def test_dict_requests_keyword_requests_and_plain_functions():
    @require_permission("x")
    def plain(request):
        return "ran"

    assert plain({"permissions": ["x"]}) == "ran"
    with pytest.raises(PermissionError):
        plain({"permissions": []})
    with pytest.raises(PermissionError):
        plain(request={"permissions": ("y",)})
    assert required_permissions(plain) == ("x",)
    with pytest.raises(TypeError):
        require_permission()


def test_registered_hooks_and_endpoints(harness):
    hooks = harness.get_registered_hooks()
    assert sorted(hooks) == ["message_sent", "user_login"]
    assert all(callable(h) for h in hooks.values())
    assert hooks["message_sent"]({"id": 1}) == ["first", "second"]
    endpoints = harness.get_registered_endpoints()
    assert sorted(endpoints) == [
        "/api/v1/demo/admin", "/api/v1/demo/boom", "/api/v1/demo/odd", "/api/v1/demo/status", "/api/v1/demo/two",
    ]
    assert harness.get_endpoint_methods("/api/v1/demo/admin") == ["POST"]


def test_emit(harness):
    assert harness.emit("message_sent", {"id": 1}) == ["first", "second"]
    with pytest.raises(RuntimeError, match="hook failed"):
        harness.emit("user_login", {})


def test_emit_of_a_hook_declared_but_handled_nowhere_delivers_to_no_one():
    manifest = loads(MANIFEST)
    manifest["hooks"].append("channel_join")
    h = PluginTestHarness()
    h.load_plugin(Demo()).manifest = manifest
    h.plugin.declared_hooks = manifest["hooks"]
    assert h.emit("channel_join", {}) == []


def test_emit_of_an_unknown_hook_is_an_error_with_a_did_you_mean(harness):
    with pytest.raises(UnknownHookError) as info:
        harness.emit("mesage_sent", {})
    assert "did you mean 'message_sent'?" in str(info.value)
    assert isinstance(info.value, LookupError)
    with pytest.raises(UnknownHookError, match="known: message_sent, user_login"):
        harness.emit("zzz_nothing_like_it")


def test_status_codes(harness):
    assert harness.call_endpoint("/api/v1/demo/status").status_code == 200
    r = harness.call_endpoint("/api/v1/demo/status", user_permissions=[])
    assert r.status_code == 403
    assert r.json()["permission"] == "message_read"
    r = harness.call_endpoint("/api/v1/demo/status", user_permissions=["message_read"], user_id="u1")
    assert (r.status_code, r.json()["user"]) == (200, "u1")
    assert harness.call_endpoint("/api/v1/demo/nope").status_code == 404
    r = harness.call_endpoint("/api/v1/demo/status", method="DELETE")
    assert (r.status_code, r.headers["Allow"]) == (405, "GET")
    r = harness.call_endpoint("/api/v1/demo/boom")
    assert r.status_code == 500
    assert "KeyError" in r.json()["message"]
    assert isinstance(r.exception, KeyError)
    assert harness.call_endpoint("/api/v1/demo/odd").status_code == 500
    assert harness.call_endpoint("/api/v1/demo/two", user_permissions=["message_read"]).status_code == 403
    assert harness.call_endpoint("/api/v1/demo/two", user_permissions=["message_read", "admin_access"]).json() == "ok"


def test_response_objects_and_bodies(harness):
    r = harness.call_endpoint("/api/v1/demo/admin", method="post", user_permissions=["admin_access"], body={"a": 1})
    assert (r.status_code, r.json(), r.headers["X-Demo"]) == (201, {"created": {"a": 1}}, "1")
    assert harness.call_endpoint("/api/v1/demo/admin", method="POST", user_permissions=[]).status_code == 403


def test_restart_keeps_storage_not_attributes(harness):
    old = harness.plugin
    harness.emit("message_sent", {"id": 1})
    new = harness.restart_plugin()
    assert new is not old and harness.plugin is new
    assert (old.unloads, new.loads, new.seen) == (1, 1, [])
    assert new.storage.get("count") == 1
    assert harness.call_endpoint("/api/v1/demo/status").json()["count"] == 1


def test_storage_values_are_copies_and_must_be_json(harness):
    s = harness.plugin.storage
    s.set("k", {"a": [1]})
    s.get("k")["a"].append(2)
    assert s.get("k") == {"a": [1]}
    with pytest.raises(TypeError):
        s.set("bad", object())
    assert "k" in s and s.keys() == ["k"]


def test_resource_limits(harness):
    harness.simulate_resource_usage(memory_mb=900)
    assert harness.call_endpoint("/api/v1/demo/status").status_code == 200
    harness.simulate_resource_usage(memory_mb=1100)
    r = harness.call_endpoint("/api/v1/demo/status")
    assert (r.status_code, r.json()["resource"]) == (503, "memory")
    harness.simulate_resource_usage(memory_mb=0, cpu_millicores=600)
    assert harness.call_endpoint("/api/v1/demo/status").json()["resource"] == "cpu"
    harness.simulate_resource_usage(cpu_millicores=0)
    assert harness.call_endpoint("/api/v1/demo/status").status_code == 200


def test_quantities():
    assert parse_memory_mb("1Gi") == 1024
    assert parse_memory_mb("256Mi") == 256
    assert parse_memory_mb(2 ** 20) == 1
    assert round(parse_memory_mb("1G"), 2) == 953.67
    assert parse_cpu("500m") == 500 and parse_cpu("2") == 2000 and parse_cpu(0.5) == 500
    with pytest.raises(ValueError):
        parse_memory_mb("lots")


def test_load_a_class_and_calls_before_loading():
    h = PluginTestHarness()
    with pytest.raises(RuntimeError, match="load_plugin"):
        h.call_endpoint("/x")
    plugin = h.load_plugin(Demo)
    assert isinstance(plugin, Demo) and plugin.loads == 1
