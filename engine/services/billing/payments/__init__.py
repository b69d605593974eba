"""Payment gateways: one interface, a built-in sandbox and a Stripe adapter.

Card numbers never reach a production server: with Stripe the browser turns
the card into a PaymentMethod id (Stripe.js) and only that id is sent to us.
The sandbox is the exception by design — it *is* the processor in test mode,
and it keeps only the outcome a test number asks for, never the number.

Every charge carries an idempotency key; a gateway given a key it has seen
returns the first result instead of charging again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from engine import config
from engine.errors import PorticoError


class GatewayUnavailable(PorticoError):
    """The payment processor could not be reached or refused our request; retry with the same key."""

    code = "payment_gateway_unavailable"
    status = 503


@dataclass(frozen=True)
class ChargeResult:
    """What a gateway says about one charge. `ok` False carries Stripe-style codes and a message."""

    ok: bool
    charge_id: str = ""
    status: str = ""  # succeeded | failed
    failure_code: str = ""  # card_declined, expired_card, incorrect_number, …
    decline_code: str = ""  # generic_decline, insufficient_funds, …
    message: str = ""
    card_brand: str = ""
    card_last4: str = ""
    raw: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CardSummary:
    """A tokenised card: the token and what a person needs to recognise the card."""

    token: str
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None


@dataclass(frozen=True)
class Intent:
    """A payment the browser completes with the processor (Stripe's Payment Element): its id and the
    client secret the browser needs; the processor tells us the outcome by webhook."""

    id: str
    client_secret: str


class PaymentGateway(ABC):
    name: str = ""
    accepts_raw_cards: bool = False  # only the sandbox

    @abstractmethod
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
        """Charge a tokenised payment method once per idempotency key. Declines are results, not errors."""

    @abstractmethod
    def describe(self, payment_method: str) -> CardSummary:
        """Brand, last four digits and expiry of a token (to save it as a payment method)."""

    @abstractmethod
    def create_intent(
        self, *, amount_cents: int, currency: str, idempotency_key: str, metadata: dict
    ) -> Intent:
        """Open a payment for the browser to complete (once per idempotency key); `metadata` comes back
        with the processor's webhook event."""

    def tokenize(self, *, number: str | None, exp_month, exp_year, cvc: str = "") -> CardSummary:
        """Turn raw card details into a token; only a gateway with accepts_raw_cards does."""
        raise NotImplementedError(f"the {self.name} gateway does not accept raw card details")


def get_gateway(name: str | None = None) -> PaymentGateway:
    """The configured gateway (PORTICO_PAYMENT_GATEWAY), or the one named."""
    settings = config.current()
    name = name or settings.payment_gateway
    # Imported when chosen: the Stripe SDK loads only where Stripe is the gateway.
    if name == "stripe":
        from engine.services.billing.payments.stripe_gateway import StripeGateway

        return StripeGateway(settings.stripe_secret_key or "")
    from engine.services.billing.payments.sandbox import SandboxGateway

    return SandboxGateway()
