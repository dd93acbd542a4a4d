"""Unit tests: call the plugin's methods directly. The `plugin` fixture (from the
plexichat_plugin_sdk pytest plugin) is a new {{class_name}} for each test."""
from unittest.mock import Mock

import pytest

from src.plugin import {{class_name}}


class Test{{class_name}}:
    def test_reads_its_manifest(self, plugin):
        assert isinstance(plugin, {{class_name}})
        assert plugin.name == "{{name}}"
        assert plugin.version == "{{version}}"
        assert "message_read" in plugin.required_permissions

    def test_counts_messages(self, plugin):
        plugin.on_message_sent({"message_id": "m1", "content": "hi"})
        plugin.on_message_sent({"message_id": "m2", "content": "hello"})
        assert plugin.messages_seen == 2

    def test_status_reports_the_count(self, plugin):
        plugin.on_message_sent({"message_id": "m1"})
        request = Mock()
        request.permissions = ["message_read"]
        result = plugin.status(request)
        assert result["plugin"] == "{{name}}"
        assert result["messages_seen"] == 1

    def test_status_requires_message_read(self, plugin):
        request = Mock()
        request.permissions = []
        with pytest.raises(PermissionError):
            plugin.status(request)
