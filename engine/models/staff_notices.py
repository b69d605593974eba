"""What a staff member is to be told about: a new task, a client's message, a booking request.

One row per piece of work and member (the unique `key`), so noticing the same work twice tells them
once. The row holds no health information either: only its kind and where it waits.
"""

from __future__ import annotations

import mongoengine as me

from engine.models import utcnow

KINDS = ("task", "message", "booking")


class StaffNotice(me.Document):
    meta = {
        "collection": "staff_notices",
        "indexes": [
            {"fields": ["key"], "unique": True},
            ("staff", "mailed_at"),
        ],
    }

    key = me.StringField(required=True, max_length=300)
    staff = me.ObjectIdField(required=True)
    kind = me.StringField(required=True, choices=KINDS)
    created_at = me.DateTimeField(default=utcnow)
    mailed_at = me.DateTimeField()  # unset until a notice or digest mail has been recorded for it
