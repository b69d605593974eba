"""Audit events, chained with an HMAC whose key lives in configuration, not in the database.

Rows are stored under short keys (engine.services.platform.audit.STORED_KEYS: field names were a third of a
row), and ids that are database ids as ObjectIds; queries and readers use the full names and text.
"""

from __future__ import annotations

import mongoengine as me
from bson import ObjectId

from engine.models import utcnow


def id_value(text):
    """An id as stored: a database id's text as its ObjectId (12 bytes, not 24 characters), anything
    else as it is. Only text that reads back as itself is converted (the audit MAC covers the text)."""
    if isinstance(text, str) and len(text) == 24 and ObjectId.is_valid(text) and str(ObjectId(text)) == text:
        return ObjectId(text)
    return text


class IdText(me.StringField):
    """An id as text (whatever kind of actor or object it names), stored as `id_value` says and read
    back as the same text."""

    def to_mongo(self, value):
        return id_value(value)

    def to_python(self, value):
        return str(value) if isinstance(value, ObjectId) else value

    def prepare_query_value(self, op, value):
        if isinstance(value, list | tuple):
            return [self.to_mongo(v) for v in value]
        return self.to_mongo(value)


class AuditEvent(me.Document):
    # strict off: rows stored before the short keys (full names, `prev_mac`) still load; the workers
    # rewrite them under the short keys (engine.services.platform.audit.compact_stored_rows).
    # Indexes for the trail's readers (engine.services.platform.audit.events_for: by client, by action, by seq);
    # none by actor, which nothing queries: every index is paid by every chained row (engine/persistence).
    meta = {
        "collection": "audit_events",
        "strict": False,
        "indexes": [
            {"fields": ["seq"], "unique": True},
            ("client_id", "-seq"),
            "action",
        ],
    }

    seq = me.IntField(required=True)
    at = me.DateTimeField(default=utcnow, db_field="t")
    actor_kind = me.StringField(default="system", db_field="k")  # staff, portal, system, anonymous
    actor_id = IdText(default="", db_field="a")
    action = me.StringField(required=True, db_field="n")  # <subject>_<past_verb>
    client_id = IdText(default="", db_field="c")
    object_type = me.StringField(default="", db_field="y")
    object_id = IdText(default="", db_field="o")
    outcome = me.StringField(default="ok", db_field="r")  # ok, denied, failed
    ip = me.StringField(default="", db_field="i")
    user_agent = me.StringField(default="", db_field="u")
    details = me.DictField(default=dict, db_field="d")
    prev_mac = me.StringField(default="")  # rows stored before the chain stopped repeating it
    mac = me.StringField(required=True, db_field="m")  # hex; stored as 32 raw bytes
