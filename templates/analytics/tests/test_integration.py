"""Integration tests: drive the plugin the way the platform does, through the
fixtures of the plexichat_plugin_sdk pytest plugin: `harness` (the plugin loaded,
hook events in), `client` (endpoint calls as a user with some permissions) and
`clock` (a fake clock for the SDK's time)."""
DASHBOARD = "/api/v1/{{name}}/dashboard"
SUMMARY = "/api/v1/{{name}}/summary"
ANALYST = ["analytics_read"]


def test_hooks_are_registered(harness):
    hooks = harness.get_registered_hooks()
    for name in ["user_login", "user_logout", "message_sent", "channel_join", "channel_leave"]:
        assert callable(hooks[name])


def test_endpoints_are_registered(harness):
    endpoints = harness.get_registered_endpoints()
    assert DASHBOARD in endpoints
    assert SUMMARY in endpoints


def test_dashboard_needs_analytics_read(client):
    assert client(user_id="u1", permissions=[]).get(DASHBOARD).status == 403
    assert client(user_id="u1", permissions=ANALYST).get(DASHBOARD).status == 200


def test_summary_needs_dashboard_access(client):
    assert client(permissions=ANALYST).get(SUMMARY).status == 403
    assert client(permissions=["dashboard_access"]).get(SUMMARY).status == 200


def test_events_flow_into_the_dashboard(harness, client, clock):
    harness.emit("user_login", {"user_id": "u1"})
    clock.advance(minutes=5)
    harness.emit("message_sent", {"user_id": "u1", "content": "great work"})
    harness.emit("channel_join", {"user_id": "u2", "channel_id": "c1"})
    harness.emit("channel_leave", {"user_id": "u2", "channel_id": "c1"})
    harness.emit("user_logout", {"user_id": "u2"})
    body = client(user_id="u1", permissions=ANALYST).get(DASHBOARD).json()
    assert body["login_count"] == 1
    assert body["message_count"] == 1
    assert body["avg_sentiment"] == 1.0
    # events without a timestamp get the SDK's time: here the fake clock's
    assert [e["timestamp"] for e in body["recent_activity"]] == ["2025-01-01T00:00:00Z", "2025-01-01T00:05:00Z"]
    summary = client(permissions=["dashboard_access"]).get(SUMMARY).json()
    assert summary == {
        "users": 2,
        "events": 5,
        "by_event": {"login": 1, "message_sent": 1, "channel_join": 1, "channel_leave": 1, "logout": 1},
    }


def test_wrong_method_is_405(client):
    assert client(permissions=ANALYST).post(DASHBOARD).status == 405


def test_data_survives_a_restart(harness, plugin):
    harness.emit("user_login", {"user_id": "u1"})
    restarted = harness.restart_plugin()
    assert restarted is not plugin
    assert [e["event"] for e in restarted.events_for("u1")] == ["login"]


def test_memory_above_the_limit_gives_503(harness, client):
    harness.simulate_resource_usage(memory_mb=2048)
    assert client(permissions=ANALYST).get(DASHBOARD).status == 503
    harness.simulate_resource_usage(memory_mb=0)
    assert client(permissions=ANALYST).get(DASHBOARD).status == 200
