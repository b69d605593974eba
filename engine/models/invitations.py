"""Portal invitations (single-use, expiring activation tokens, stored hashed) and intake reminders."""

from __future__ import annotations

import mongoengine as me

from engine.models import utcnow


class Invitation(me.Document):
    """An activation link sent to a client or contact. Only the HMAC of the token is stored."""

    meta = {
        "collection": "invitations",
        "indexes": [{"fields": ["token_hash"], "unique": True}, "account", "client"],
    }

    token_hash = me.StringField(required=True)
    account = me.ObjectIdField(required=True)  # the PortalAccount the link activates
    client = me.ObjectIdField(required=True)  # the client profile the intake is for
    instance_id = me.ObjectIdField()
    expires_at = me.DateTimeField(required=True)
    used_at = me.DateTimeField()
    # The password hash chosen with this link, kept from the claim until it is on the account, so that a
    # retry after a crash between the two finishes the activation instead of finding a used link.
    password_hash = me.StringField()
    created_at = me.DateTimeField(default=utcnow)


class IntakeReminder(me.Document):
    """One reminder sent for an intake instance; the count decides when staff get a follow-up."""

    meta = {"collection": "intake_reminders", "indexes": [{"fields": ["key"], "unique": True}, "instance_id"]}

    key = me.StringField(required=True)  # the send_email operation key (instance id:task id)
    instance_id = me.ObjectIdField(required=True)
    forms = me.ListField(me.StringField(), default=list)
    created_at = me.DateTimeField(default=utcnow)


class IntakeStart(me.Document):
    """A client's intake being started by an invitation (engine.services.intake.intake.invite): one at a time
    per client, so two invitations sent at once (a double click, a retry while the first is still running)
    start one intake and mail one invitation. Removed when the start is done; one left by a request that
    died mid-start is taken over after engine.services.intake.intake.ABANDONED_START_AFTER."""

    meta = {"collection": "intake_starts", "indexes": [{"fields": ["client"], "unique": True}]}

    client = me.ObjectIdField(required=True)
    holder = me.StringField(required=True)  # the request holding it (a fresh random id)
    started_at = me.DateTimeField(required=True)
