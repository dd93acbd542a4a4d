"""Integration tests: the harness finds the handlers of self.hooks and
self.endpoints as it finds decorated ones; `harness` and `client` are fixtures of
the plexichat_plugin_sdk pytest plugin."""
DASHBOARD = "/api/v1/{{name}}/dashboard"
REPORT = "/api/v1/{{name}}/report"


def test_hooks_and_endpoints_are_registered(harness):
    assert sorted(harness.get_registered_hooks()) == ["message_sent", "session_end", "user_action"]
    assert sorted(harness.get_registered_endpoints()) == [DASHBOARD, REPORT]
    assert harness.get_endpoint_methods(REPORT) == ["GET", "POST"]


def test_events_flow_into_the_dashboard(harness, client):
    harness.emit("user_action", {"user_id": "u1", "action": "click"})
    harness.emit("message_sent", {"user_id": "u1", "content": "hi"})
    assert client(user_id="u1", permissions=[]).get(DASHBOARD).status == 403
    body = client(user_id="u1", permissions=["analytics_read"]).get(DASHBOARD).json()
    assert body["counts"] == {"click": 1, "message": 1}


def test_a_session_end_writes_the_report(harness, client):
    harness.emit("user_action", {"user_id": "u2", "action": "open"})
    assert harness.emit("session_end", {"user_id": "u2"}) == [{"open": 1}]
    reader = client(permissions=["user_data_read"])
    assert reader.post(REPORT, json={"user_id": "u2"}).json() == {"user_id": "u2", "report": {"open": 1}}
    assert client(user_id="u2", permissions=["user_data_read"]).get(REPORT).json()["report"] == {"open": 1}
