"""Unit tests: call the plugin's methods directly. The `plugin` fixture (from the
plexichat_plugin_sdk pytest plugin) is a new {{class_name}} for each test."""
from unittest.mock import Mock

import pytest

from src.plugin import {{class_name}}


class Test{{class_name}}:
    def test_registers_its_handlers_in_dicts(self, plugin):
        assert isinstance(plugin, {{class_name}})
        assert sorted(plugin.hooks) == ["message_sent", "session_end", "user_action"]
        assert sorted(plugin.endpoints) == ["/api/v1/{{name}}/dashboard", "/api/v1/{{name}}/report"]

    def test_report_lists_the_most_frequent(self, plugin):
        for action in ["click", "click", "scroll", "share", "open"]:
            plugin.track_user_action({"user_id": "u1", "action": action})
        plugin.analyze_message({"user_id": "u1", "content": "hi"})
        assert plugin.generate_report({"user_id": "u1"}) == {"click": 2, "message": 1, "open": 1}

    def test_dashboard_requires_analytics_read(self, plugin):
        request = Mock()
        request.user_id = "u1"
        request.permissions = []
        with pytest.raises(PermissionError):
            plugin.dashboard_endpoint(request)
