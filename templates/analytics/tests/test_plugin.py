"""Unit tests: call the plugin's methods directly. The `plugin` fixture (from the
plexichat_plugin_sdk pytest plugin) is a new {{class_name}} for each test."""
from unittest.mock import Mock

import pytest

from src.plugin import sentiment


class Test{{class_name}}:
    def test_reads_its_manifest(self, plugin):
        assert plugin.name == "{{name}}"
        assert plugin.version == "{{version}}"
        assert plugin.settings["track_channels"] is True
        assert plugin.max_events == 1000

    def test_login_is_recorded(self, plugin):
        plugin.on_login({"user_id": "u1", "timestamp": "2025-08-31T12:00:00Z"})
        events = plugin.events_for("u1")
        assert [e["event"] for e in events] == ["login"]

    def test_message_sentiment_is_recorded(self, plugin):
        plugin.on_message({"user_id": "u1", "content": "This is great!", "timestamp": "t"})
        assert plugin.events_for("u1")[0]["sentiment"] == "positive"

    @pytest.mark.parametrize(
        "text, expected",
        [("This is great!", "positive"), ("This is terrible.", "negative"), ("This is okay", "neutral")],
    )
    def test_sentiment(self, text, expected):
        assert sentiment(text) == expected

    def test_event_without_user_is_rejected(self, plugin):
        with pytest.raises(ValueError):
            plugin.on_login({"timestamp": "t"})

    def test_dashboard(self, plugin):
        plugin.on_login({"user_id": "u1"})
        plugin.on_message({"user_id": "u1", "content": "good"})
        plugin.on_message({"user_id": "u1", "content": "bad"})
        request = Mock()
        request.user_id = "u1"
        request.permissions = ["analytics_read"]
        result = plugin.dashboard(request)
        assert result["total_events"] == 3
        assert result["login_count"] == 1
        assert result["message_count"] == 2
        assert result["avg_sentiment"] == 0.0

    def test_dashboard_requires_analytics_read(self, plugin):
        request = Mock()
        request.user_id = "u1"
        request.permissions = ["dashboard_access"]
        with pytest.raises(PermissionError):
            plugin.dashboard(request)
