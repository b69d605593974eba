"""Invoices, payments, saved payment methods (tokens only) and the sandbox gateway's ledger."""

from __future__ import annotations

import mongoengine as me

from engine.models import utcnow

INVOICE_STATUSES = ("open", "paid", "void")
PAYMENT_STATUSES = ("processing", "succeeded", "failed")


class LineItem(me.EmbeddedDocument):
    service = me.StringField(required=True, max_length=200)
    service_date = me.DateField(required=True)
    amount_cents = me.IntField(required=True, min_value=0)
    description = me.StringField(default="", max_length=500)
    service_type = me.StringField()  # the practice's service type it was chosen from, if any


class Invoice(me.Document):
    meta = {
        "collection": "invoices",
        "indexes": [
            {"fields": ["number"], "unique": True},
            ("client", "-created_at"),
            "status",
        ],
    }

    client = me.ObjectIdField(required=True)
    number = me.StringField(required=True)
    status = me.StringField(choices=INVOICE_STATUSES, default="open")
    currency = me.StringField(default="usd")
    line_items = me.EmbeddedDocumentListField(LineItem, default=list)
    total_cents = me.IntField(default=0)
    paid_cents = me.IntField(default=0)
    due_date = me.DateField()
    # The payment currently talking to the gateway: a second one waits (409) so
    # that two different idempotency keys cannot both pay the same balance.
    payment_in_progress = me.ObjectIdField()
    payment_started_at = me.DateTimeField()
    # Payments whose outcome is counted here: applying one is idempotent, so a payment finished by a
    # request that died before crediting the invoice is credited once by its retry (engine/services/billing).
    applied_payments = me.ListField(me.ObjectIdField(), default=list)
    created_by = me.StringField(default="")
    created_at = me.DateTimeField(default=utcnow)
    paid_at = me.DateTimeField()
    version = me.IntField(default=0)
    # The `payment` process staff started for this invoice ("request payment"): one at a time.
    payment_request = me.ObjectIdField()

    @property
    def balance_cents(self) -> int:
        return self.total_cents - self.paid_cents


class Counter(me.Document):
    """Named sequences (invoice and receipt numbers)."""

    meta = {"collection": "counters"}

    id = me.StringField(primary_key=True)
    value = me.IntField(default=0)


class Payment(me.Document):
    """One attempt to pay an invoice. The idempotency key is unique: a retry finds this row."""

    meta = {
        "collection": "payments",
        "indexes": [
            {"fields": ["idempotency_key"], "unique": True},
            "invoice",
            ("client", "-created_at"),
        ],
    }

    idempotency_key = me.StringField(required=True, max_length=255)
    invoice = me.ObjectIdField(required=True)
    client = me.ObjectIdField(required=True)
    amount_cents = me.IntField(required=True, min_value=1)
    currency = me.StringField(default="usd")
    status = me.StringField(choices=PAYMENT_STATUSES, default="processing")
    gateway = me.StringField(required=True)
    payment_method = me.StringField(default="")  # gateway token
    charge_id = me.StringField(default="")
    card_brand = me.StringField(default="")
    card_last4 = me.StringField(default="")
    failure_code = me.StringField(default="")
    decline_code = me.StringField(default="")
    failure_message = me.StringField(default="")
    receipt_number = me.StringField(default="")
    actor_kind = me.StringField(default="")
    actor_id = me.StringField(default="")
    created_at = me.DateTimeField(default=utcnow)
    completed_at = me.DateTimeField()


class PaymentMethod(me.Document):
    """A saved card: the gateway's token and what a person needs to recognise it, never the number."""

    meta = {"collection": "payment_methods", "indexes": ["client", {"fields": ["token"], "unique": True}]}

    client = me.ObjectIdField(required=True)
    gateway = me.StringField(required=True)
    token = me.StringField(required=True)
    brand = me.StringField(default="")
    last4 = me.StringField(default="")
    exp_month = me.IntField()
    exp_year = me.IntField()
    saved_by = me.StringField(default="")
    created_at = me.DateTimeField(default=utcnow)


class SandboxCard(me.Document):
    """A card tokenised by the sandbox gateway: the outcome its test number asks for, not the number."""

    meta = {"collection": "sandbox_cards"}

    id = me.StringField(primary_key=True)  # pm_sandbox_…
    brand = me.StringField(default="")
    last4 = me.StringField(default="")
    exp_month = me.IntField()
    exp_year = me.IntField()
    outcome = me.StringField(default="succeeded")  # or a failure code
    decline_code = me.StringField(default="")
    created_at = me.DateTimeField(default=utcnow)


class SandboxCharge(me.Document):
    """The sandbox processor's ledger: one row per charge it performed, unique per idempotency key."""

    meta = {"collection": "sandbox_charges", "indexes": [{"fields": ["idempotency_key"], "unique": True}]}

    id = me.StringField(primary_key=True)  # ch_sandbox_…
    idempotency_key = me.StringField(required=True)
    amount_cents = me.IntField(required=True)
    currency = me.StringField(default="usd")
    payment_method = me.StringField(required=True)
    status = me.StringField(choices=("succeeded", "failed"), required=True)
    failure_code = me.StringField(default="")
    decline_code = me.StringField(default="")
    description = me.StringField(default="")
    created_at = me.DateTimeField(default=utcnow)


class ProcessorEvent(me.Document):
    """A payment processor's webhook event we acted on, by the processor's event id: a redelivery of
    the same event is answered without acting again."""

    meta = {"collection": "processor_events"}

    id = me.StringField(primary_key=True)  # evt_…
    type = me.StringField(default="")
    payment_intent = me.StringField(default="")
    received_at = me.DateTimeField(default=utcnow)
