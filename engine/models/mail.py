"""Mail: every message Portico sends (the outbox record) and every message the dev sink receives."""

from __future__ import annotations

import mongoengine as me

from engine.models import utcnow

DIRECTIONS = ("out", "sink")
# out: queued -> sending -> sent | failed (failed ones are retried by the actor).
STATUSES = ("queued", "sending", "sent", "failed", "received")


class MailMessage(me.Document):
    meta = {
        "collection": "mail_messages",
        "indexes": [
            # Sparse: only outgoing mail with a key takes part; the index is what makes a
            # retry with the same key find the first message instead of sending a second.
            {"fields": ["idempotency_key"], "unique": True, "sparse": True},
            ("direction", "-created_at"),
            ("status", "claimed_at"),
        ],
    }

    direction = me.StringField(choices=DIRECTIONS, required=True)
    status = me.StringField(choices=STATUSES, required=True)
    idempotency_key = me.StringField(max_length=300)  # unset (not "") when absent: sparse index
    sender = me.StringField(default="", max_length=500)
    to = me.ListField(me.StringField(max_length=500), default=list)
    subject = me.StringField(default="", max_length=1000)
    text = me.StringField(default="")
    html = me.StringField(default="")
    message_id = me.StringField(default="")  # the Message-ID header
    raw_size = me.IntField(default=0)  # bytes as received by the sink
    created_at = me.DateTimeField(default=utcnow)
    claimed_at = me.DateTimeField()  # when a sender took it; a stale claim may be retaken
    sent_at = me.DateTimeField()
    attempts = me.IntField(default=0)
    last_error = me.StringField(default="")
