"""Audit events, chained with an HMAC whose key lives in configuration, not in the database."""

from __future__ import annotations

import mongoengine as me

from engine.models import utcnow


class AuditEvent(me.Document):
    meta = {"collection": "audit_events", "indexes": [
        {"fields": ["seq"], "unique": True}, ("client_id", "-seq"), ("actor_id", "-seq"), "action",
    ]}

    seq = me.IntField(required=True)
    at = me.DateTimeField(default=utcnow)
    actor_kind = me.StringField(default="system")  # staff, portal, system, anonymous
    actor_id = me.StringField(default="")
    action = me.StringField(required=True)  # <subject>_<past_verb>
    client_id = me.StringField(default="")
    object_type = me.StringField(default="")
    object_id = me.StringField(default="")
    outcome = me.StringField(default="ok")  # ok, denied, failed
    ip = me.StringField(default="")
    user_agent = me.StringField(default="")
    details = me.DictField(default=dict)
    prev_mac = me.StringField(default="")
    mac = me.StringField(required=True)
