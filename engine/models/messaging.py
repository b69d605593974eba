"""Secure messaging: one thread per client profile, its messages and each participant's read state."""

from __future__ import annotations

import mongoengine as me

from engine.models import utcnow

AUTHOR_KINDS = ("staff", "portal")


class MessageThread(me.Document):
    """The thread of one client profile. `last_seq` numbers its messages 1, 2, 3…"""

    meta = {
        "collection": "message_threads",
        "indexes": [
            {"fields": ["client"], "unique": True},
            "-last_message_at",
        ],
    }

    client = me.ObjectIdField(required=True)
    last_seq = me.IntField(default=0)
    last_message_at = me.DateTimeField()
    last_author_kind = me.StringField(default="")
    created_at = me.DateTimeField(default=utcnow)


class Attachment(me.EmbeddedDocument):
    file_id = me.StringField(required=True)
    filename = me.StringField(required=True)
    content_type = me.StringField(required=True)
    size = me.IntField(required=True)


class Message(me.Document):
    meta = {
        "collection": "messages",
        "indexes": [
            {"fields": ["thread", "seq"], "unique": True},
            "client",
        ],
    }

    thread = me.ObjectIdField(required=True)
    client = me.ObjectIdField(required=True)
    seq = me.IntField(required=True)
    author_kind = me.StringField(required=True, choices=AUTHOR_KINDS)
    author_id = me.ObjectIdField(required=True)
    author_name = me.StringField(default="")
    body = me.StringField(default="", max_length=20000)
    attachments = me.EmbeddedDocumentListField(Attachment, default=list)
    created_at = me.DateTimeField(default=utcnow)


class ThreadReadState(me.Document):
    """How far one participant (a staff member or a portal account) has read one thread."""

    meta = {
        "collection": "thread_read_states",
        "indexes": [
            {"fields": ["thread", "participant_kind", "participant_id"], "unique": True},
            ("participant_kind", "participant_id"),
        ],
    }

    thread = me.ObjectIdField(required=True)
    participant_kind = me.StringField(required=True, choices=AUTHOR_KINDS)
    participant_id = me.ObjectIdField(required=True)
    last_read_seq = me.IntField(default=0)
    last_read_at = me.DateTimeField(default=utcnow)
