"""{{title}}: a PlexiChat plugin."""
import logging

from plexichat_plugin_sdk import Plugin, endpoint, hook
from plexichat_plugin_sdk.security import require_permission

logger = logging.getLogger(__name__)


class {{class_name}}(Plugin):
    """Counts the messages it sees and reports them on a status endpoint."""

    def __init__(self):
        super().__init__()
        self.messages_seen = 0

    @hook("message_sent")
    def on_message_sent(self, message):
        self.messages_seen += 1
        logger.debug("message %s seen", message.get("message_id"))

    @endpoint("/api/v1/{{name}}/status", methods=["GET"])
    @require_permission("message_read")
    def status(self, request):
        return {
            "plugin": self.name,
            "version": self.version,
            "greeting": self.settings.get("greeting"),
            "messages_seen": self.messages_seen,
        }
