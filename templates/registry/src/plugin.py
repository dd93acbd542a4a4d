"""{{title}}: a PlexiChat plugin in the runbook's Phase 1 style, with its hooks and
endpoints registered in dicts built in __init__ instead of decorators."""
from plexichat_plugin_sdk import Plugin
from plexichat_plugin_sdk.security import require_permission


class {{class_name}}(Plugin):
    """Counts user actions and messages per user; reports them when a session ends."""

    def __init__(self):
        super().__init__()
        self.hooks = {
            "user_action": self.track_user_action,
            "message_sent": self.analyze_message,
            "session_end": self.generate_report,
        }
        self.endpoints = {
            "/api/v1/{{name}}/dashboard": self.dashboard_endpoint,
            "/api/v1/{{name}}/report": (self.report_endpoint, ["GET", "POST"]),
        }

    def _count(self, user_id, kind):
        counts = self.storage.get("counts:%s" % user_id, {})
        counts[kind] = counts.get(kind, 0) + 1
        self.storage.set("counts:%s" % user_id, counts)

    # -- hooks ----------------------------------------------------------
    def track_user_action(self, action_data):
        self._count(action_data["user_id"], action_data.get("action", "action"))

    def analyze_message(self, message_data):
        self._count(message_data["user_id"], "message")

    def generate_report(self, session_data):
        counts = self.storage.get("counts:%s" % session_data["user_id"], {})
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: int(self.settings.get("report_top", 3))]
        self.storage.set("report:%s" % session_data["user_id"], dict(top))
        return dict(top)

    # -- endpoints ------------------------------------------------------
    @require_permission("analytics_read")
    def dashboard_endpoint(self, request):
        return {"user_id": request.user_id, "counts": self.storage.get("counts:%s" % request.user_id, {})}

    @require_permission("user_data_read")
    def report_endpoint(self, request):
        user_id = (request.json() or {}).get("user_id") if request.method == "POST" else request.user_id
        return {"user_id": user_id, "report": self.storage.get("report:%s" % user_id)}
