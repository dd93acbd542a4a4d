"""Integration tests: drive the plugin through the SDK's test harness, the way
the platform does (hook events in, HTTP-like endpoint calls with permissions)."""
from plexichat_plugin_sdk.testing import PluginTestHarness

from src.plugin import {{class_name}}

STATUS = "/api/v1/{{name}}/status"


class Test{{class_name}}Integration:
    def setup_method(self):
        self.harness = PluginTestHarness()
        self.plugin = {{class_name}}()
        self.harness.load_plugin(self.plugin)

    def test_hook_is_registered(self):
        hooks = self.harness.get_registered_hooks()
        assert "message_sent" in hooks
        assert callable(hooks["message_sent"])

    def test_endpoint_is_registered(self):
        assert STATUS in self.harness.get_registered_endpoints()

    def test_endpoint_needs_the_permission(self):
        assert self.harness.call_endpoint(STATUS, user_permissions=[]).status_code == 403
        response = self.harness.call_endpoint(STATUS, user_permissions=["message_read"])
        assert response.status_code == 200
        assert response.json()["plugin"] == "{{name}}"

    def test_events_reach_the_endpoint(self):
        self.harness.emit("message_sent", {"message_id": "m1", "content": "hi"})
        response = self.harness.call_endpoint(STATUS, user_permissions=["message_read"])
        assert response.json()["messages_seen"] == 1

    def test_unknown_path_is_404(self):
        assert self.harness.call_endpoint("/api/v1/{{name}}/missing").status_code == 404
