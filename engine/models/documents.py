"""General Documents: a client's uploaded files and filed PDFs (the bytes live encrypted in GridFS)."""

from __future__ import annotations

import mongoengine as me

from engine.models import utcnow

DOCUMENT_KINDS = ("upload", "form", "packet")


class Document(me.Document):
    """One entry of a client's General Documents.

    `source_key` makes filing idempotent: an operation retried with the same key
    finds the document it filed the first time instead of filing a second copy.
    """

    meta = {
        "collection": "documents",
        "indexes": [("client", "-created_at"), {"fields": ["source_key"], "unique": True, "sparse": True}],
    }

    client = me.ObjectIdField(required=True)
    kind = me.StringField(choices=DOCUMENT_KINDS, required=True)
    title = me.StringField(required=True, max_length=200)
    file_id = me.StringField(required=True)  # engine.services.platform.files id
    content_type = me.StringField(default="")
    size = me.IntField(default=0)
    form_key = me.StringField(default="")
    submission_id = me.StringField(default="")
    instance_id = me.ObjectIdField()
    source_key = me.StringField()
    created_by = me.StringField(default="")  # "<kind>:<id>" or "system"
    created_at = me.DateTimeField(default=utcnow)
    # Staff may show an upload in the client's portal (filed forms and packets are always shown there).
    shared = me.BooleanField(default=False)
    shared_at = me.DateTimeField()
    shared_by = me.StringField(default="")
