"""A small sample payload for every hook of the catalogue (docs/catalogues.md).

``POST /__dev/hooks/<hook>`` with an empty body delivers the sample, so a hook
can be fired without writing a payload first. docs/dev.md lists the same
payloads, and a test keeps the keys equal to the CLI's hook catalogue.
"""
import copy

__all__ = ["SAMPLE_PAYLOADS", "sample_payload"]

_T = "2025-01-01T12:00:00Z"

SAMPLE_PAYLOADS = {
    "user_login": {"user_id": "user_1", "timestamp": _T, "ip_address": "127.0.0.1"},
    "user_logout": {"user_id": "user_1", "timestamp": _T},
    "user_action": {"user_id": "user_1", "action": "click", "target": "settings", "timestamp": _T},
    "user_joined": {"user_id": "user_2", "username": "new_user", "timestamp": _T},
    "user_updated": {"user_id": "user_1", "changes": {"display_name": "User One"}, "timestamp": _T},
    "session_start": {"user_id": "user_1", "session_id": "session_1", "timestamp": _T},
    "session_end": {"user_id": "user_1", "session_id": "session_1", "duration": 600, "timestamp": _T},
    "message_sent": {
        "user_id": "user_1",
        "channel_id": "general",
        "message_id": "msg_1",
        "content": "Hello, this is a great day!",
        "timestamp": _T,
    },
    "message_edited": {
        "user_id": "user_1",
        "channel_id": "general",
        "message_id": "msg_1",
        "content": "Hello, this is a great day! (edited)",
        "timestamp": _T,
    },
    "message_deleted": {"user_id": "user_1", "channel_id": "general", "message_id": "msg_1", "timestamp": _T},
    "message_pinned": {"user_id": "user_1", "channel_id": "general", "message_id": "msg_1", "timestamp": _T},
    "reaction_added": {"user_id": "user_1", "message_id": "msg_1", "emoji": "thumbsup", "timestamp": _T},
    "reaction_removed": {"user_id": "user_1", "message_id": "msg_1", "emoji": "thumbsup", "timestamp": _T},
    "channel_created": {"user_id": "user_1", "channel_id": "random", "name": "random", "timestamp": _T},
    "channel_deleted": {"user_id": "user_1", "channel_id": "random", "timestamp": _T},
    "channel_join": {"user_id": "user_1", "channel_id": "general", "timestamp": _T},
    "channel_leave": {"user_id": "user_1", "channel_id": "general", "timestamp": _T},
    "file_uploaded": {
        "user_id": "user_1",
        "channel_id": "general",
        "file_id": "file_1",
        "filename": "report.pdf",
        "size": 2048,
        "timestamp": _T,
    },
    "mention": {"user_id": "user_1", "mentioned_user_id": "user_2", "message_id": "msg_1", "timestamp": _T},
    "command_invoked": {"user_id": "user_1", "channel_id": "general", "command": "/stats", "args": [], "timestamp": _T},
    "plugin_enabled": {"user_id": "admin_1", "timestamp": _T},
    "plugin_disabled": {"user_id": "admin_1", "timestamp": _T},
    "schedule_tick": {"schedule": "*/5 * * * *", "timestamp": _T},
}


def sample_payload(hook):
    """A copy of the sample for ``hook`` ({} for a hook outside the catalogue)."""
    return copy.deepcopy(SAMPLE_PAYLOADS.get(hook, {}))
