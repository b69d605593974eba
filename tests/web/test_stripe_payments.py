"""Stripe: the Payment Element on the portal's pay page (only with Stripe keys), and the webhook that
credits an invoice once per event and per payment intent, checked with locally signed payloads."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from engine import config
from engine.authz import SYSTEM
from engine.models.billing import Invoice, Payment, ProcessorEvent
from engine.models.mail import MailMessage
from engine.services.billing import billing
from tests.helpers import login_as
from web import headers

SECRET = "whsec_test_5f1c0b8e2a7d4c9e"
WEBHOOK = "/api/v1/stripe/webhook"


@pytest.fixture()
def configured(settings, clean_db):
    """Install settings for one test (the app reads them per request); the session's come back after."""

    def install(**changes):
        from web.app import create_app

        app = create_app(settings.with_(**changes))
        app.config.update(TESTING=True)
        return app.test_client()

    yield install
    config.install(settings)


def _sign(payload: bytes, secret: str = SECRET, at: int | None = None) -> str:
    """The Stripe-Signature header as Stripe computes it: t=<ts>,v1=HMAC-SHA256(secret, "<ts>.<payload>")."""
    ts = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def _succeeded(event_id: str, intent_id: str, invoice_id: str, amount: int) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "payment_intent.succeeded",
            "api_version": "2024-06-20",
            "data": {
                "object": {
                    "id": intent_id,
                    "object": "payment_intent",
                    "amount": amount,
                    "amount_received": amount,
                    "currency": "usd",
                    "status": "succeeded",
                    "metadata": {"invoice": invoice_id},
                    "payment_method": {
                        "id": "pm_card_visa",
                        "object": "payment_method",
                        "card": {"brand": "visa", "last4": "4242"},
                    },
                }
            },
        }
    ).encode()


def _invoice(family, cents=12500) -> dict:
    return billing.create_invoice(
        SYSTEM,
        family["minor"].id,
        {"line_items": [{"service": "Session", "service_date": "2026-11-02", "amount_cents": cents}]},
    )


def _post(client, payload: bytes, signature: str):
    return client.post(
        WEBHOOK, data=payload, headers={"Stripe-Signature": signature, "Content-Type": "application/json"}
    )


def test_same_webhook_event_twice_credits_the_invoice_once(configured, family):
    """Does a signed payment_intent.succeeded credit its invoice, and the same event again (and another
    event about the same payment intent) leave one payment and one credit?"""
    client = configured(stripe_webhook_secret=SECRET)
    invoice = _invoice(family)
    csrf = login_as(client, family["emails"]["guardian"])
    intent = client.post(f"/api/v1/invoices/{invoice['id']}/payment-intent", headers=csrf)
    assert intent.status_code == 201, intent.get_json()
    intent = intent.get_json()
    assert intent["amount_cents"] == 12500 and intent["client_secret"].startswith(intent["intent_id"])
    again = client.post(f"/api/v1/invoices/{invoice['id']}/payment-intent", headers=csrf).get_json()
    assert again["intent_id"] == intent["intent_id"]  # a reloaded page: the same payment, not a second
    client.post("/logout", headers=csrf)

    payload = _succeeded("evt_1", intent["intent_id"], invoice["id"], 12500)
    first = _post(client, payload, _sign(payload))
    assert (first.status_code, first.get_json()) == (200, {"outcome": "credited"})
    second = _post(client, payload, _sign(payload))
    assert (second.status_code, second.get_json()) == (200, {"outcome": "duplicate"})
    other = _succeeded("evt_2", intent["intent_id"], invoice["id"], 12500)
    assert _post(client, other, _sign(other)).get_json() == {"outcome": "duplicate"}

    inv = Invoice.objects.get(id=invoice["id"])
    assert (inv.status, inv.paid_cents) == ("paid", 12500)
    [payment] = Payment.objects(invoice=inv.id)
    assert (payment.status, payment.gateway, payment.card_last4) == ("succeeded", "stripe", "4242")
    assert payment.receipt_number.startswith("R-")
    assert ProcessorEvent.objects.count() == 2
    receipts = MailMessage.objects(direction="out", subject__startswith="Payment received")
    assert sorted(m.to[0] for m in receipts) == sorted(
        [family["emails"]["client"], family["emails"]["guardian"]]
    )
    assert {m.status for m in receipts} == {
        "queued"
    }  # the workers send them (tests/workers/test_notice_mail.py)


def test_bad_signature_is_400_and_credits_nothing(configured, family):
    """Is a payload with a wrong, stale, missing or tampered signature refused with 400, nothing credited?"""
    client = configured(stripe_webhook_secret=SECRET)
    invoice = _invoice(family)
    payload = _succeeded("evt_bad", "pi_test_1", invoice["id"], 12500)
    tampered = payload.replace(b"12500", b"99999")
    for body, signature in (
        (payload, _sign(payload, secret="whsec_someone_else")),
        (payload, _sign(payload, at=int(time.time()) - 3600)),
        (payload, ""),
        (tampered, _sign(payload)),
        (b"not json", _sign(b"not json")),
    ):
        resp = _post(client, body, signature)
        assert resp.status_code == 400, (signature, resp.get_json())
    assert Payment.objects.count() == 0 and ProcessorEvent.objects.count() == 0
    assert Invoice.objects.get(id=invoice["id"]).paid_cents == 0
    # The same payload properly signed still works: the refusals consumed nothing.
    assert _post(client, payload, _sign(payload)).get_json() == {"outcome": "credited"}


def test_other_events_and_unconfigured_webhook(configured, family):
    """Is an event we do not act on acknowledged without a credit, and the endpoint 404 without a secret?"""
    client = configured(stripe_webhook_secret=SECRET)
    payload = json.dumps(
        {
            "id": "evt_x",
            "object": "event",
            "type": "customer.created",
            "data": {"object": {"id": "cus_1", "object": "customer"}},
        }
    ).encode()
    assert _post(client, payload, _sign(payload)).get_json() == {"outcome": "ignored"}
    assert Payment.objects.count() == 0
    plain = configured()
    assert _post(plain, payload, _sign(payload)).status_code == 404


def test_pay_page_loads_stripe_js_only_with_stripe_keys(configured, family):
    """With Stripe keys, does the pay page mount the Payment Element from js.stripe.com with a CSP allowing
    exactly Stripe's hosts, while other pages and the sandbox default load nothing from outside?"""
    _invoice(family)
    sandbox = configured()
    login_as(sandbox, family["emails"]["guardian"])
    page = sandbox.get("/portal/billing")
    assert "js.stripe.com" not in page.get_data(as_text=True)
    assert page.headers["Content-Security-Policy"] == headers.CSP
    assert "Card number" in page.get_data(as_text=True)

    stripe = configured(
        payment_gateway="stripe", stripe_secret_key="sk_test_x", stripe_publishable_key="pk_test_x"
    )
    login_as(stripe, family["emails"]["guardian"])
    page = stripe.get("/portal/billing")
    html = page.get_data(as_text=True)
    assert '<script src="https://js.stripe.com/v3/"></script>' in html
    assert 'data-stripe-key="pk_test_x"' in html and "Card number" not in html
    policy = dict(part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self' https://js.stripe.com"
    assert policy["frame-src"] == "https://js.stripe.com https://hooks.stripe.com"
    assert policy["connect-src"] == "'self' https://api.stripe.com"
    assert stripe.get("/portal/messages").headers["Content-Security-Policy"] == headers.CSP
