"""Unit tests: call the plugin's methods directly."""
from unittest.mock import Mock

import pytest

from src.plugin import {{class_name}}


class Test{{class_name}}:
    def setup_method(self):
        self.plugin = {{class_name}}()

    def test_reads_its_manifest(self):
        assert self.plugin.name == "{{name}}"
        assert self.plugin.version == "{{version}}"
        assert "message_read" in self.plugin.required_permissions

    def test_counts_messages(self):
        self.plugin.on_message_sent({"message_id": "m1", "content": "hi"})
        self.plugin.on_message_sent({"message_id": "m2", "content": "hello"})
        assert self.plugin.messages_seen == 2

    def test_status_reports_the_count(self):
        self.plugin.on_message_sent({"message_id": "m1"})
        request = Mock()
        request.permissions = ["message_read"]
        result = self.plugin.status(request)
        assert result["plugin"] == "{{name}}"
        assert result["messages_seen"] == 1

    def test_status_requires_message_read(self):
        request = Mock()
        request.permissions = []
        with pytest.raises(PermissionError):
            self.plugin.status(request)
