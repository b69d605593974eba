"""Payments the browser completes with the processor (Stripe's Payment Element), credited by webhook.

`start_intent` opens a payment intent for an invoice's balance through the configured gateway (the
seam: the sandbox makes a local one, Stripe a PaymentIntent); the browser confirms it with Stripe.js
and Stripe posts `payment_intent.succeeded` to our webhook. `handle_stripe_webhook` checks the
signature with Stripe's own code and credits the invoice exactly once, twice over:
- by event id: a redelivered event (Stripe retries until it gets a 2xx) is answered without acting;
- by payment intent: the payment row's idempotency key is `stripe_intent:<pi id>`, unique, so two
  events about one intent (or two deliveries racing past the event check) make one payment, and the
  invoice counts a payment once (`applied_payments`).
The event is recorded only after the credit, so a crash in between leaves the redelivery to credit.
The receipt is a notice, sent by the workers (engine.services.messaging.notices).

Domain errors: NotFound (no such invoice; the webhook when no signing secret is configured),
Conflict (invoice_not_open), BadRequest (a signature that does not verify).
"""

from __future__ import annotations

import logging

from mongoengine.errors import NotUniqueError

from engine import config
from engine.authz import SYSTEM, Actor
from engine.errors import BadRequest, Conflict, NotFound
from engine.models.billing import Invoice, Payment, ProcessorEvent
from engine.models.clients import Client
from engine.services.billing import billing
from engine.services.billing.payments import ChargeResult, get_gateway
from engine.services.platform import audit

log = logging.getLogger(__name__)
CREDITED_EVENTS = ("payment_intent.succeeded",)


def start_intent(actor: Actor, invoice_id) -> dict:
    """Open a payment of the invoice's whole balance for the browser to complete.

    Asking again for the same balance returns the same intent (the key is the invoice and its
    version), so a reloaded page never opens a second payment. Raises NotFound, Conflict.
    """
    inv, client = billing.get_invoice_for(actor, invoice_id, staff_need="billing.manage")
    if inv.status != "open" or inv.balance_cents <= 0:
        raise Conflict("this invoice is not open for payment", code="invoice_not_open")
    intent = get_gateway().create_intent(
        amount_cents=inv.balance_cents,
        currency=inv.currency,
        idempotency_key=f"intent:{inv.id}:{inv.version}:{inv.balance_cents}",
        metadata={"invoice": str(inv.id), "client": str(client.id)},
    )
    audit.record(
        actor,
        "payment_intent_started",
        client=client,
        object_type="invoice",
        object_id=inv.id,
        details={"amount_cents": inv.balance_cents},
    )
    return {
        "intent_id": intent.id,
        "client_secret": intent.client_secret,
        "amount_cents": inv.balance_cents,
        "currency": inv.currency,
        "publishable_key": config.current().stripe_publishable_key or "",
    }


def handle_stripe_webhook(payload: bytes, signature: str) -> str:
    """Verify a Stripe webhook request and act on its event once. Returns what happened:
    credited | duplicate | ignored. Raises NotFound (no signing secret set), BadRequest (bad signature)."""
    from engine.services.billing.payments.stripe_gateway import (  # the SDK loads only here
        BadSignature,
        verify_event,
    )

    secret = config.current().stripe_webhook_secret
    if not secret:
        raise NotFound("no Stripe webhook is configured")
    try:
        event = verify_event(payload, signature, secret)
    except BadSignature:
        raise BadRequest("the Stripe signature does not verify", code="bad_signature") from None
    event_id, kind = str(event.get("id") or ""), str(event.get("type") or "")
    if not event_id:
        raise BadRequest("the event has no id", code="bad_event")
    if ProcessorEvent.objects(id=event_id).only("id").first() is not None:
        return "duplicate"
    if kind not in CREDITED_EVENTS:
        return "ignored"
    intent = (event.get("data") or {}).get("object") or {}
    payment, new = credit_intent(intent)
    try:
        ProcessorEvent(id=event_id, type=kind, payment_intent=str(intent.get("id") or "")).save(
            force_insert=True
        )
    except NotUniqueError:
        pass  # a racing delivery of the same event recorded it; the credit was once either way
    if payment is None:
        return "ignored"
    return "credited" if new else "duplicate"


def credit_intent(intent: dict) -> tuple[Payment | None, bool]:
    """Count a succeeded payment intent on the invoice its metadata names, once per intent.

    Returns the payment (None for an intent that is not ours: no invoice in its metadata) and
    whether this call credited it.
    """
    intent_id = str(intent.get("id") or "")
    invoice_id = str((intent.get("metadata") or {}).get("invoice") or "")
    inv = Invoice.objects(id=invoice_id).first() if len(invoice_id) == 24 else None
    if not intent_id or inv is None:
        log.warning("payment intent %s names no invoice of ours; not credited", intent_id or "?")
        return None, False
    client = Client.objects(id=inv.client).first()
    amount = int(intent.get("amount_received") or intent.get("amount") or 0)
    card = _card(intent)
    payment = Payment(
        idempotency_key=f"stripe_intent:{intent_id}",
        invoice=inv.id,
        client=inv.client,
        amount_cents=max(amount, 1),
        currency=str(intent.get("currency") or inv.currency),
        gateway="stripe",
        payment_method=str(card.get("id") or ""),
        actor_kind=SYSTEM.kind,
        actor_id=SYSTEM.id,
    )
    try:
        payment.save(force_insert=True)  # the unique key: this delivery owns the credit
    except NotUniqueError:
        found = Payment.objects.get(idempotency_key=payment.idempotency_key)
        if found.status == "processing":  # its delivery died before the outcome: finish it here
            return billing.record_outcome(found, _succeeded(intent_id, card), SYSTEM, client), True
        return found, False
    audit.record(
        SYSTEM,
        "payment_started",
        client=client,
        object_type="payment",
        object_id=payment.id,
        details={"amount_cents": payment.amount_cents, "invoice": str(inv.id), "intent": intent_id},
    )
    return billing.record_outcome(payment, _succeeded(intent_id, card), SYSTEM, client), True


def _card(intent: dict) -> dict:
    method = intent.get("payment_method")
    if not isinstance(method, dict):
        return {"id": method or ""}
    card = method.get("card") or {}
    return {"id": method.get("id", ""), "brand": card.get("brand", ""), "last4": card.get("last4", "")}


def _succeeded(intent_id: str, card: dict) -> ChargeResult:
    return ChargeResult(
        ok=True,
        status="succeeded",
        charge_id=intent_id,
        card_brand=card.get("brand", ""),
        card_last4=card.get("last4", ""),
    )
