"""Integrations: service tokens (API access for other systems) and webhooks (pushing events to them)."""

from __future__ import annotations

import mongoengine as me

from engine.models import utcnow


class ServiceToken(me.Document):
    """A named API token for an integration, with its own permission set; only the SHA-256 is stored.

    It acts as itself (actor kind "service"), never as the admin who made it: no person's session,
    MFA or client assignments come with it.
    """

    meta = {"collection": "service_tokens", "indexes": [{"fields": ["token_hash"], "unique": True}, "-created_at"]}

    name = me.StringField(required=True, max_length=100)
    token_hash = me.StringField(required=True)
    permissions = me.ListField(me.StringField(), default=list)
    created_by = me.StringField(default="")  # "staff:<id>" of the admin who made it
    created_at = me.DateTimeField(default=utcnow)
    last_used_at = me.DateTimeField()
    revoked_at = me.DateTimeField()
