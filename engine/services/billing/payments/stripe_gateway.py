"""The Stripe adapter (official `stripe` SDK): PaymentIntents confirmed with a PaymentMethod id.

The browser collects the card with Stripe.js and sends us only `pm_…`; we
create and confirm a PaymentIntent server-side with our idempotency key (the
SDK sends it as the Idempotency-Key header, so Stripe itself also refuses to
charge twice). Card errors are results (declines), not exceptions; anything
else the SDK raises (network, authentication) propagates so that the payment
stays `processing` and is retried with the same key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import stripe

from engine.services.billing.payments import (
    CardSummary,
    ChargeResult,
    GatewayUnavailable,
    Intent,
    PaymentGateway,
)

if TYPE_CHECKING:
    from stripe.params import PaymentIntentCreateParams


class StripeGateway(PaymentGateway):
    name = "stripe"

    def __init__(self, secret_key: str, *, http_client=None, max_network_retries: int = 2):
        # http_client is for tests (a transport that records requests); None = the SDK's default.
        self.client = stripe.StripeClient(
            secret_key, http_client=http_client, max_network_retries=max_network_retries
        )

    @staticmethod
    def intent_params(
        *, amount_cents: int, currency: str, payment_method: str, description: str, metadata: dict | None
    ) -> PaymentIntentCreateParams:
        """The PaymentIntent create parameters for one immediate, server-confirmed charge."""
        return {
            "amount": amount_cents,
            "currency": currency,
            "payment_method": payment_method,
            "confirm": True,
            # No redirect-based methods: the portal has no return URL for them.
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            "description": description[:1000],
            "metadata": {k: str(v) for k, v in (metadata or {}).items()},
            "expand": ["payment_method"],
        }

    def charge(
        self,
        *,
        amount_cents: int,
        currency: str,
        payment_method: str,
        idempotency_key: str,
        description: str = "",
        metadata: dict | None = None,
    ) -> ChargeResult:
        params = self.intent_params(
            amount_cents=amount_cents,
            currency=currency,
            payment_method=payment_method,
            description=description,
            metadata=metadata,
        )
        try:
            intent = self.client.v1.payment_intents.create(
                params=params, options={"idempotency_key": idempotency_key}
            ).to_dict()
        except stripe.CardError as exc:
            err = exc.error
            return ChargeResult(
                ok=False,
                status="failed",
                failure_code=exc.code or "card_declined",
                decline_code=getattr(err, "decline_code", None) or "",
                message=exc.user_message or "Your card was declined.",
            )
        except stripe.StripeError as exc:
            # Network, rate limit, authentication: the outcome is unknown, so the payment stays
            # `processing` and a retry with the same key asks Stripe again (it dedupes on the key).
            raise GatewayUnavailable(
                "the payment processor did not answer; please try again",
                details={"stripe": type(exc).__name__},
            ) from exc
        card = _card_of(intent.get("payment_method"))
        if intent.get("status") == "succeeded":
            return ChargeResult(
                ok=True,
                status="succeeded",
                charge_id=intent.get("id", ""),
                card_brand=card.get("brand", ""),
                card_last4=card.get("last4", ""),
            )
        # requires_action (3-D Secure) and the like: this flow cannot complete it server-side.
        return ChargeResult(
            ok=False,
            status="failed",
            charge_id=intent.get("id", ""),
            failure_code="authentication_required",
            message="Your bank asks for confirmation; please pay from the portal.",
            card_brand=card.get("brand", ""),
            card_last4=card.get("last4", ""),
        )

    def create_intent(
        self, *, amount_cents: int, currency: str, idempotency_key: str, metadata: dict
    ) -> Intent:
        """A PaymentIntent for the Payment Element; Stripe confirms it in the browser and tells us by webhook."""
        try:
            intent = self.client.v1.payment_intents.create(
                params={
                    "amount": amount_cents,
                    "currency": currency,
                    "automatic_payment_methods": {"enabled": True},
                    "metadata": {k: str(v) for k, v in metadata.items()},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise GatewayUnavailable(
                "the payment processor did not answer; please try again",
                details={"stripe": type(exc).__name__},
            ) from exc
        return Intent(id=intent.id, client_secret=intent.client_secret or "")

    def describe(self, payment_method: str) -> CardSummary:
        pm = self.client.v1.payment_methods.retrieve(payment_method).to_dict()
        card = _card_of(pm)
        return CardSummary(
            payment_method,
            card.get("brand", ""),
            card.get("last4", ""),
            card.get("exp_month"),
            card.get("exp_year"),
        )


def _card_of(payment_method) -> dict:
    if not payment_method or isinstance(payment_method, str):
        return {}
    card = payment_method.get("card") or {}
    return {k: card.get(k) for k in ("brand", "last4", "exp_month", "exp_year")}


class BadSignature(Exception):
    """A webhook payload whose Stripe-Signature does not verify (or that is not an event)."""


def verify_event(payload: bytes, signature: str, secret: str) -> dict:
    """The event of a webhook request, after Stripe's own check of its signature and timestamp
    (`stripe.Webhook.construct_event`, five minutes' tolerance). Raises BadSignature."""
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise BadSignature(str(exc)) from exc
    return event.to_dict()
