"""Integrations: service tokens (API access for other systems) and webhooks (pushing events to them)."""

from __future__ import annotations

import mongoengine as me

from engine.models import utcnow


class ServiceToken(me.Document):
    """A named API token for an integration, with its own permission set; only the SHA-256 is stored.

    It acts as itself (actor kind "service"), never as the admin who made it: no person's session,
    MFA or client assignments come with it.
    """

    meta = {
        "collection": "service_tokens",
        "indexes": [{"fields": ["token_hash"], "unique": True}, "-created_at"],
    }

    name = me.StringField(required=True, max_length=100)
    token_hash = me.StringField(required=True)
    permissions = me.ListField(me.StringField(), default=list)
    created_by = me.StringField(default="")  # "staff:<id>" of the admin who made it
    created_at = me.DateTimeField(default=utcnow)
    last_used_at = me.DateTimeField()
    revoked_at = me.DateTimeField()


# Event codes integrators subscribe to -> the words people read. Add new events here and nowhere else.
WEBHOOK_EVENTS: dict[str, str] = {
    "intake.completed": "Intake completed",
    "form.submitted": "Form submitted",
    "form.acknowledged": "Form acknowledged by staff",
    "form.returned": "Form returned to the client",
    "document.filed": "Document filed in General Documents",
    "appointment.booked": "Appointment booked",
    "appointment.cancelled": "Appointment cancelled",
    "appointment.rescheduled": "Appointment rescheduled",
    "invoice.paid": "Invoice paid",
    "payment.failed": "Payment failed",
}
# pending -> sending -> delivered | retrying (-> sending …) | failed (gave up, or the address was refused)
DELIVERY_STATUSES = ("pending", "sending", "delivered", "retrying", "failed")


class WebhookEndpoint(me.Document):
    """A URL of another system that receives the chosen events, signed with its own secret."""

    meta = {"collection": "webhook_endpoints", "indexes": [("active", "events"), "-created_at"]}

    url = me.StringField(required=True, max_length=2000)
    description = me.StringField(default="", max_length=200)
    events = me.ListField(me.StringField(), default=list)
    active = me.BooleanField(default=True)
    secret_sealed = me.StringField(
        required=True
    )  # encrypted with the app key (engine.services.accounts.mfa.seal)
    created_by = me.StringField(default="")
    created_at = me.DateTimeField(default=utcnow)
    updated_at = me.DateTimeField(default=utcnow)


class WebhookAttempt(me.EmbeddedDocument):
    at = me.DateTimeField(required=True)
    status_code = me.IntField()  # the receiver's HTTP status; None when no answer came
    response = me.StringField(default="")  # the start of the receiver's answer
    error = me.StringField(default="")
    duration_ms = me.IntField(default=0)


class WebhookDelivery(me.Document):
    """One event for one endpoint: the exact body sent (so a retry or resend is the same event) and its attempts."""

    meta = {
        "collection": "webhook_deliveries",
        "indexes": [
            {"fields": ["endpoint", "event_id"], "unique": True},
            ("endpoint", "-created_at"),
            ("status", "next_attempt_at"),
        ],
    }

    endpoint = me.ObjectIdField(required=True)
    event_id = me.StringField(required=True)
    event = me.StringField(required=True)
    body = me.StringField(required=True)  # JSON: {"id", "type", "created_at", "data": {ids}}
    status = me.StringField(choices=DELIVERY_STATUSES, default="pending")
    attempts = me.EmbeddedDocumentListField(WebhookAttempt, default=list)
    tries = me.IntField(default=0)  # attempts since it was (re)sent, counted against the limit
    next_attempt_at = me.DateTimeField()
    claimed_at = me.DateTimeField()
    created_at = me.DateTimeField(default=utcnow)
    delivered_at = me.DateTimeField()
