"""Integration tests: drive the plugin through the SDK's test harness, the way
the platform does (hook events in, HTTP-like endpoint calls with permissions)."""
from plexichat_plugin_sdk.testing import PluginTestHarness

from src.plugin import {{class_name}}

DASHBOARD = "/api/v1/{{name}}/dashboard"
SUMMARY = "/api/v1/{{name}}/summary"


class Test{{class_name}}Integration:
    def setup_method(self):
        self.harness = PluginTestHarness()
        self.plugin = {{class_name}}()
        self.harness.load_plugin(self.plugin)

    def teardown_method(self):
        self.harness.close()

    def test_hooks_are_registered(self):
        hooks = self.harness.get_registered_hooks()
        for name in ["user_login", "user_logout", "message_sent", "channel_join", "channel_leave"]:
            assert callable(hooks[name])

    def test_endpoints_are_registered(self):
        endpoints = self.harness.get_registered_endpoints()
        assert DASHBOARD in endpoints
        assert SUMMARY in endpoints

    def test_dashboard_needs_analytics_read(self):
        assert self.harness.call_endpoint(DASHBOARD, user_permissions=[], user_id="u1").status_code == 403
        response = self.harness.call_endpoint(DASHBOARD, user_permissions=["analytics_read"], user_id="u1")
        assert response.status_code == 200

    def test_summary_needs_dashboard_access(self):
        assert self.harness.call_endpoint(SUMMARY, user_permissions=["analytics_read"]).status_code == 403
        assert self.harness.call_endpoint(SUMMARY, user_permissions=["dashboard_access"]).status_code == 200

    def test_events_flow_into_the_dashboard(self):
        self.harness.emit("user_login", {"user_id": "u1", "timestamp": "2025-08-31T12:00:00Z"})
        self.harness.emit("message_sent", {"user_id": "u1", "content": "great work"})
        self.harness.emit("channel_join", {"user_id": "u2", "channel_id": "c1"})
        body = self.harness.call_endpoint(DASHBOARD, user_permissions=["analytics_read"], user_id="u1").json()
        assert body["login_count"] == 1
        assert body["message_count"] == 1
        assert body["avg_sentiment"] == 1.0
        summary = self.harness.call_endpoint(SUMMARY, user_permissions=["dashboard_access"]).json()
        assert summary == {"users": 2, "events": 3, "by_event": {"login": 1, "message_sent": 1, "channel_join": 1}}

    def test_wrong_method_is_405(self):
        response = self.harness.call_endpoint(DASHBOARD, method="POST", user_permissions=["analytics_read"])
        assert response.status_code == 405

    def test_data_survives_a_restart(self):
        self.harness.emit("user_login", {"user_id": "u1"})
        restarted = self.harness.restart_plugin()
        assert restarted is not self.plugin
        assert [e["event"] for e in restarted.events_for("u1")] == ["login"]

    def test_memory_above_the_limit_gives_503(self):
        self.harness.simulate_resource_usage(memory_mb=2048)
        assert self.harness.call_endpoint(DASHBOARD, user_permissions=["analytics_read"]).status_code == 503
        self.harness.simulate_resource_usage(memory_mb=0)
        assert self.harness.call_endpoint(DASHBOARD, user_permissions=["analytics_read"]).status_code == 200
