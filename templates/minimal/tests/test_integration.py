"""Integration tests: drive the plugin the way the platform does, through the
fixtures of the plexichat_plugin_sdk pytest plugin: `harness` (the plugin loaded,
hook events in) and `client` (endpoint calls as a user with some permissions)."""
STATUS = "/api/v1/{{name}}/status"


def test_hook_is_registered(harness):
    hooks = harness.get_registered_hooks()
    assert "message_sent" in hooks
    assert callable(hooks["message_sent"])


def test_endpoint_is_registered(harness):
    assert STATUS in harness.get_registered_endpoints()


def test_endpoint_needs_the_permission(client):
    assert client(permissions=[]).get(STATUS).status == 403
    response = client(permissions=["message_read"]).get(STATUS)
    assert response.status == 200
    assert response.json()["plugin"] == "{{name}}"


def test_events_reach_the_endpoint(harness, client):
    harness.emit("message_sent", {"message_id": "m1", "content": "hi"})
    assert client(permissions=["message_read"]).get(STATUS).json()["messages_seen"] == 1


def test_unknown_path_is_404(client):
    assert client().get("/api/v1/{{name}}/missing").status == 404
