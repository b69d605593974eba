"""The Stripe adapter's parameter mapping, with a recording transport in place of the network."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import stripe

from engine.services.billing.payments.stripe_gateway import StripeGateway


class RecordingTransport(stripe.HTTPClient):
    """A stripe HTTP client that answers from a script and keeps every request (no network here)."""

    name = "recording"

    def __init__(self, answers):
        super().__init__()
        self.answers = list(answers)
        self.requests: list[dict] = []

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        self.requests.append(
            {"method": method, "url": url, "headers": dict(headers or {}), "form": parse_qs(post_data or "")}
        )
        status, body = self.answers.pop(0)
        return json.dumps(body), status, {"request-id": "req_test"}

    def request_stream(self, *args, **kwargs):
        raise NotImplementedError

    def close(self):
        pass


INTENT_OK = {
    "id": "pi_123",
    "object": "payment_intent",
    "status": "succeeded",
    "amount": 12000,
    "payment_method": {
        "id": "pm_abc",
        "object": "payment_method",
        "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2040},
    },
}
DECLINE = {
    "error": {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds.",
    }
}


def test_charge_creates_a_confirmed_payment_intent_with_our_idempotency_key():
    """Does a charge create one confirmed PaymentIntent for the token, sending our key as Idempotency-Key?"""
    transport = RecordingTransport([(200, INTENT_OK)])
    gateway = StripeGateway("sk_test_dummy", http_client=transport, max_network_retries=0)
    result = gateway.charge(
        amount_cents=12000,
        currency="usd",
        payment_method="pm_abc",
        idempotency_key="pay-123",
        description="Invoice INV-000001",
        metadata={"invoice": "i1"},
    )
    assert (result.ok, result.charge_id, result.card_last4) == (True, "pi_123", "4242")
    [req] = transport.requests
    assert req["method"] == "post" and req["url"].endswith("/v1/payment_intents")
    assert req["headers"]["Idempotency-Key"] == "pay-123"
    form = req["form"]
    assert (
        form["amount"] == ["12000"] and form["payment_method"] == ["pm_abc"] and form["confirm"] == ["true"]
    )
    assert form["automatic_payment_methods[allow_redirects]"] == ["never"]
    assert form["metadata[invoice]"] == ["i1"]
    assert not any("number" in k for k in form)  # card data never passes through us


def test_card_error_becomes_a_failed_result_with_codes():
    """Does a Stripe card error become a failed result with its code and decline code?"""
    gateway = StripeGateway(
        "sk_test_dummy", http_client=RecordingTransport([(402, DECLINE)]), max_network_retries=0
    )
    result = gateway.charge(amount_cents=500, currency="usd", payment_method="pm_x", idempotency_key="k-1")
    assert (result.ok, result.failure_code, result.decline_code) == (
        False,
        "card_declined",
        "insufficient_funds",
    )
    assert "insufficient" in result.message
