"""The dict registration style, async handlers, undeclared permissions, the fake clock."""
import asyncio
import warnings

import pytest

from plexichat_plugin_sdk import Plugin, RegistrationError, endpoint, hook, plugin_handlers
from plexichat_plugin_sdk import _events, clock
from yaml import safe_load as loads
from plexichat_plugin_sdk.clock import FakeClock
from plexichat_plugin_sdk.security import SecurityTestHarness, require_permission
from plexichat_plugin_sdk.testing import (
    STRICT_ENV,
    PluginTestHarness,
    UndeclaredPermissionError,
    UndeclaredPermissionWarning,
)

from conftest import MANIFEST


def manifest(**changes):
    data = loads(MANIFEST)
    data.update(changes)
    return data


class DictStyle(Plugin):
    """The runbook's Phase 1 sketch: registries built in __init__."""

    def __init__(self):
        super().__init__(manifest=manifest(hooks=["user_action", "message_sent", "session_end"],
                                           endpoints=["/api/v1/demo/dashboard", "/api/v1/demo/report"]))
        self.actions = []
        self.hooks = {
            "user_action": self.track_user_action,
            "message_sent": [self.analyze_message, self.count_message],
            "session_end": self.generate_report,
        }
        self.endpoints = {
            "/api/v1/demo/dashboard": self.dashboard_endpoint,
            "/api/v1/demo/report": (self.report_endpoint, ["GET", "POST"]),
        }

    def track_user_action(self, data):
        self.actions.append(data["action"])
        return "tracked"

    def analyze_message(self, data):
        return "analyzed"

    def count_message(self, data):
        return "counted"

    def generate_report(self, data):
        return {"actions": len(self.actions)}

    @require_permission("message_read")
    def dashboard_endpoint(self, request):
        return {"actions": self.actions, "user": request.user_id}

    def report_endpoint(self, request):
        return {"method": request.method}


def test_the_dict_style_registers_hooks_and_endpoints():
    h = PluginTestHarness()
    h.load_plugin(DictStyle())
    hooks = h.get_registered_hooks()
    assert sorted(hooks) == ["message_sent", "session_end", "user_action"]
    assert hooks["user_action"]({"action": "click"}) == "tracked"
    assert hooks["message_sent"]({}) == ["analyzed", "counted"]
    assert h.emit("user_action", {"action": "scroll"}) == ["tracked"]
    assert h.emit("session_end", {}) == [{"actions": 2}]
    assert sorted(h.get_registered_endpoints()) == ["/api/v1/demo/dashboard", "/api/v1/demo/report"]
    assert h.call_endpoint("/api/v1/demo/dashboard", user_permissions=[]).status_code == 403
    r = h.call_endpoint("/api/v1/demo/dashboard", user_permissions=["message_read"], user_id="u1")
    assert r.json() == {"actions": ["click", "scroll"], "user": "u1"}
    assert h.call_endpoint("/api/v1/demo/report", method="POST").json() == {"method": "POST"}
    assert h.call_endpoint("/api/v1/demo/dashboard", method="POST").status_code == 405
    # restart builds the dicts again, on the new instance
    new = h.restart_plugin()
    assert h.emit("user_action", {"action": "x"}) == ["tracked"] and new.actions == ["x"]


def test_dict_style_calls_through_the_harness_are_audited_and_covered():
    _events.reset_coverage()
    h = PluginTestHarness()
    h.load_plugin(DictStyle())
    with SecurityTestHarness() as s:
        h.emit("user_action", {"action": "click", "user_id": "u9"})
    assert s.get_audit_logs()[0]["action"] == "user_action"
    assert s.get_audit_logs()[0]["user_id"] == "u9"
    assert _events.exercised_names("hooks") == ["user_action"]


class BothStyles(Plugin):
    def __init__(self):
        super().__init__(manifest=manifest(hooks=["message_sent", "user_login"]))
        self.hooks = {"message_sent": self.on_message, "user_login": self.on_login}
        self.endpoints = {"/api/v1/demo/status": self.status}

    @hook("message_sent")
    def on_message(self, m):
        return "once"

    def on_login(self, m):
        return "login"

    @endpoint("/api/v1/demo/status", methods=["GET"])
    def status(self, request):
        return "ok"


def test_the_same_method_registered_both_ways_counts_once():
    _events.reset_coverage()
    h = PluginTestHarness()
    h.load_plugin(BothStyles())
    assert h.emit("message_sent", {}) == ["once"]
    assert h.emit("user_login", {}) == ["login"]
    assert h.call_endpoint("/api/v1/demo/status").json() == "ok"
    assert _events.exercised_names("hooks") == ["message_sent", "user_login"]


def _plugin_with(hooks=None, endpoints=None):
    p = Plugin(manifest=loads(MANIFEST))
    if hooks is not None:
        p.hooks = hooks
    if endpoints is not None:
        p.endpoints = endpoints
    return p


def test_registration_mistakes_are_named():
    def fn(x):
        return x

    with pytest.raises(RegistrationError, match="the key 3 is not a hook name"):
        plugin_handlers(_plugin_with(hooks={3: fn}))
    with pytest.raises(RegistrationError, match="'Message Sent' is not a hook name"):
        plugin_handlers(_plugin_with(hooks={"Message Sent": fn}))
    with pytest.raises(RegistrationError, match="not a method"):
        plugin_handlers(_plugin_with(hooks={"message_sent": "on_message"}))
    with pytest.raises(RegistrationError, match="not an absolute path"):
        plugin_handlers(_plugin_with(endpoints={"api/x": fn}))
    with pytest.raises(RegistrationError, match="unknown HTTP method 'FETCH'"):
        plugin_handlers(_plugin_with(endpoints={"/api/x": (fn, ["FETCH"])}))
    with pytest.raises(RegistrationError, match="must be a dict"):
        plugin_handlers(_plugin_with(hooks=["message_sent"]))


def test_one_path_served_by_two_handlers_is_an_error():
    class Twice(BothStyles):
        def __init__(self):
            super().__init__()
            self.endpoints = {"/api/v1/demo/status": self.other}

        def other(self, request):
            return "other"

    with pytest.raises(RegistrationError, match="registered twice"):
        PluginTestHarness().load_plugin(Twice())


class AsyncPlugin(Plugin):
    def __init__(self):
        super().__init__(manifest=loads(MANIFEST))
        self.seen = []

    @hook("message_sent")
    async def on_message(self, m):
        await asyncio.sleep(0)
        self.seen.append(m["content"])
        return "done"

    @endpoint("/api/v1/demo/status")
    @require_permission("message_read")
    async def status(self, request):
        await asyncio.sleep(0)
        return {"seen": self.seen}


def test_async_hooks_and_endpoints_are_awaited():
    h = PluginTestHarness()
    plugin = h.load_plugin(AsyncPlugin())
    assert h.emit("message_sent", {"content": "a"}) == ["done"]
    assert h.get_registered_hooks()["message_sent"]({"content": "b"}) == "done"
    assert h.call_endpoint("/api/v1/demo/status").json() == {"seen": ["a", "b"]}
    assert h.call_endpoint("/api/v1/demo/status", user_permissions=[]).status_code == 403
    assert asyncio.iscoroutinefunction(AsyncPlugin.on_message)
    assert asyncio.run(plugin.on_message({"content": "c"})) == "done"


def test_in_a_running_loop_the_async_variants_are_used():
    h = PluginTestHarness()
    h.load_plugin(AsyncPlugin())

    async def scenario():
        with pytest.raises(RuntimeError, match="emit_async"):
            h.emit("message_sent", {"content": "x"})
        assert await h.emit_async("message_sent", {"content": "y"}) == ["done"]
        r = await h.call_endpoint_async("/api/v1/demo/status", user_permissions=["message_read"])
        return r.json()

    assert asyncio.run(scenario()) == {"seen": ["y"]}


class NeedsUndeclared(Plugin):
    def __init__(self):
        super().__init__(manifest=loads(MANIFEST))

    @endpoint("/api/v1/demo/status")
    @require_permission("analytics_read")
    def status(self, request):
        return "ok"


def test_an_undeclared_permission_is_a_warning(monkeypatch):
    monkeypatch.delenv(STRICT_ENV, raising=False)
    with pytest.warns(UndeclaredPermissionWarning, match="NeedsUndeclared.status requires 'analytics_read'"):
        PluginTestHarness().load_plugin(NeedsUndeclared())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PluginTestHarness().load_plugin(AsyncPlugin())  # message_read is declared: no warning


def test_strict_makes_it_an_error(monkeypatch):
    monkeypatch.delenv(STRICT_ENV, raising=False)
    with pytest.raises(UndeclaredPermissionError, match="permissions.required"):
        PluginTestHarness(strict=True).load_plugin(NeedsUndeclared())
    monkeypatch.setenv(STRICT_ENV, "1")
    assert PluginTestHarness().strict is True
    assert PluginTestHarness(strict=False).strict is False


class Ticking(Plugin):
    def __init__(self):
        super().__init__(manifest=manifest(hooks=["schedule_tick", "session_end"]))
        self.ticks = []

    @hook("schedule_tick")
    def on_tick(self, payload):
        self.ticks.append((payload["time"], clock.now()))

    @hook("session_end")
    def on_end(self, payload):
        return payload


def test_the_fake_clock_fires_scheduled_hooks_in_time_order():
    h = PluginTestHarness()
    plugin = h.load_plugin(Ticking())
    fake = FakeClock(harness=h)
    previous = clock.install(fake)
    try:
        assert clock.now() == clock.DEFAULT_START
        fake.after(90, "session_end", {"session": "s1"})
        fired = fake.advance(minutes=3)
        assert [hook for _, hook, _ in fired] == ["schedule_tick", "session_end", "schedule_tick", "schedule_tick"]
        assert fired[1][2] == [{"session": "s1"}]
        assert plugin.ticks[0] == ("2025-01-01T00:01:00Z", clock.DEFAULT_START + 60)
        assert clock.now() == clock.DEFAULT_START + 180
        assert fake.advance(30) == []
        with SecurityTestHarness() as s:
            plugin.on_end({})
        assert s.get_audit_logs()[0]["time"] == clock.DEFAULT_START + 210
        with pytest.raises(ValueError):
            fake.advance(-1)
        with pytest.raises(LookupError, match="did you mean 'session_end'"):
            fake.every(10, "sesion_end")
    finally:
        clock.install(previous)
    assert clock.now() != clock.DEFAULT_START + 210
