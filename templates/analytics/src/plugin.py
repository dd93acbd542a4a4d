"""{{title}}: user activity analytics for PlexiChat."""
import logging
import re

from plexichat_plugin_sdk import Plugin, clock, endpoint, hook
from plexichat_plugin_sdk.security import require_permission

logger = logging.getLogger(__name__)

WORD = re.compile(r"[a-z']+")
POSITIVE = {"good", "great", "excellent", "awesome", "thanks", "love", "nice"}
NEGATIVE = {"bad", "terrible", "awful", "horrible", "hate", "broken", "slow"}
SCORES = {"positive": 1.0, "neutral": 0.0, "negative": -1.0}
EVENTS_PREFIX = "events:"


def sentiment(text):
    """'positive', 'negative' or 'neutral' by counting known words."""
    words = WORD.findall(text.lower())
    score = sum(1 for w in words if w in POSITIVE) - sum(1 for w in words if w in NEGATIVE)
    if score > 0:
        return "positive"
    if score < 0:
        return "negative"
    return "neutral"


class {{class_name}}(Plugin):
    """Records user events in the plugin's storage and serves dashboards."""

    def __init__(self):
        super().__init__()
        self.max_events = int(self.settings.get("max_events_per_user", 1000))
        self.recent = int(self.settings.get("recent_events", 10))

    # -- storage --------------------------------------------------------
    def events_for(self, user_id):
        return self.storage.get(EVENTS_PREFIX + str(user_id), [])

    def record(self, user_id, event, **fields):
        if user_id is None:
            raise ValueError("event without a user_id")
        events = self.events_for(user_id)
        entry = {"event": event}
        entry.update(fields)
        if entry.get("timestamp") is None:
            entry["timestamp"] = clock.isoformat()  # the SDK's time (a fake clock in tests)
        events.append(entry)
        self.storage.set(EVENTS_PREFIX + str(user_id), events[-self.max_events:])

    # -- hooks ----------------------------------------------------------
    @hook("user_login")
    def on_login(self, data):
        self.record(data.get("user_id"), "login", timestamp=data.get("timestamp"))

    @hook("user_logout")
    def on_logout(self, data):
        self.record(data.get("user_id"), "logout", timestamp=data.get("timestamp"))

    @hook("message_sent")
    def on_message(self, data):
        content = str(data.get("content", ""))
        self.record(
            data.get("user_id"),
            "message_sent",
            sentiment=sentiment(content),
            length=len(content),
            timestamp=data.get("timestamp"),
        )

    @hook("channel_join")
    def on_channel_join(self, data):
        if self.settings.get("track_channels", True):
            self.record(data.get("user_id"), "channel_join", channel_id=data.get("channel_id"))

    @hook("channel_leave")
    def on_channel_leave(self, data):
        if self.settings.get("track_channels", True):
            self.record(data.get("user_id"), "channel_leave", channel_id=data.get("channel_id"))

    # -- endpoints ------------------------------------------------------
    @endpoint("/api/v1/{{name}}/dashboard", methods=["GET"])
    @require_permission("analytics_read")
    def dashboard(self, request):
        """Metrics for the calling user."""
        events = self.events_for(request.user_id)
        messages = [e for e in events if e["event"] == "message_sent"]
        average = sum(SCORES[e["sentiment"]] for e in messages) / len(messages) if messages else 0.0
        return {
            "user_id": request.user_id,
            "total_events": len(events),
            "login_count": sum(1 for e in events if e["event"] == "login"),
            "message_count": len(messages),
            "avg_sentiment": average,
            "recent_activity": events[-self.recent:],
        }

    @endpoint("/api/v1/{{name}}/summary", methods=["GET"])
    @require_permission("dashboard_access")
    def summary(self, request):
        """Counts over every user, for workspace dashboards."""
        by_event = {}
        users = 0
        for key in self.storage.keys():
            if not key.startswith(EVENTS_PREFIX):
                continue
            users += 1
            for e in self.storage.get(key, []):
                by_event[e["event"]] = by_event.get(e["event"], 0) + 1
        return {"users": users, "events": sum(by_event.values()), "by_event": by_event}
