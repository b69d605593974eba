"""The built-in sandbox: behaves like a card processor's test mode, with a ledger of charges.

Test numbers (Stripe's):
  4242 4242 4242 4242  succeeds
  4000 0000 0000 0002  card_declined / generic_decline
  4000 0000 0000 9995  card_declined / insufficient_funds
  4000 0000 0000 0069  expired_card
  a number failing the Luhn check: incorrect_number; any other valid number succeeds.
An expiry in the past is expired_card; a CVC that is not 3–4 digits is incorrect_cvc.

`tokenize` stands in for Stripe.js: it keeps brand, last four, expiry and the
outcome the number asks for, never the number. The ledger (SandboxCharge) has
a unique idempotency key: a repeated key returns the first charge.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date

from mongoengine.errors import NotUniqueError

from engine.errors import NotFound, ValidationFailed
from engine.models.billing import SandboxCard, SandboxCharge
from engine.services.billing.payments import CardSummary, ChargeResult, Intent, PaymentGateway

_OUTCOMES = {
    "4242424242424242": ("succeeded", ""),
    "4000000000000002": ("card_declined", "generic_decline"),
    "4000000000009995": ("card_declined", "insufficient_funds"),
    "4000000000000069": ("expired_card", "expired_card"),
}
MESSAGES = {
    "card_declined": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
    "incorrect_number": "Your card number is incorrect.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "payment_method_unknown": "This payment method is not known to the processor.",
}


def luhn_ok(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _brand(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    if number.startswith("6011") or number.startswith("65"):
        return "discover"
    return "unknown"


class SandboxGateway(PaymentGateway):
    name = "sandbox"
    accepts_raw_cards = True

    def tokenize(self, *, number: str | None, exp_month, exp_year, cvc: str = "") -> CardSummary:
        """Turn test card details into a token. Raises ValidationFailed for malformed fields only."""
        number = "".join(ch for ch in str(number or "") if not ch.isspace() and ch != "-")
        try:
            month, year = int(exp_month), int(exp_year)
        except (TypeError, ValueError):
            raise ValidationFailed(
                "bad expiry", details={"card.exp_month": ["must be a month and year"]}
            ) from None
        if year < 100:
            year += 2000
        if not 1 <= month <= 12:
            raise ValidationFailed("bad expiry", details={"card.exp_month": ["must be 1 to 12"]})
        outcome, decline = _OUTCOMES.get(number, ("succeeded", ""))
        cvc = str(cvc or "")
        if not luhn_ok(number):
            outcome, decline = "incorrect_number", ""
        elif (year, month) < (date.today().year, date.today().month):
            outcome, decline = "expired_card", "expired_card"
        elif cvc and not (cvc.isdigit() and len(cvc) in (3, 4)):
            outcome, decline = "incorrect_cvc", ""
        card = SandboxCard(
            id=f"pm_sandbox_{secrets.token_hex(12)}",
            brand=_brand(number),
            last4=number[-4:] if number.isdigit() else "",
            exp_month=month,
            exp_year=year,
            outcome=outcome,
            decline_code=decline,
        ).save(force_insert=True)
        return CardSummary(card.id, card.brand, card.last4, month, year)

    def describe(self, payment_method: str) -> CardSummary:
        card = SandboxCard.objects(id=payment_method).first()
        if card is None:
            raise NotFound("no such payment method")
        return CardSummary(card.id, card.brand, card.last4, card.exp_month, card.exp_year)

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
        card = SandboxCard.objects(id=payment_method).first()
        outcome, decline = (card.outcome, card.decline_code) if card else ("payment_method_unknown", "")
        status = "succeeded" if outcome == "succeeded" else "failed"
        charge = SandboxCharge(
            id=f"ch_sandbox_{secrets.token_hex(12)}",
            idempotency_key=idempotency_key,
            amount_cents=amount_cents,
            currency=currency,
            payment_method=payment_method,
            status=status,
            failure_code="" if status == "succeeded" else outcome,
            decline_code=decline,
            description=description[:200],
        )
        try:
            charge.save(force_insert=True)
        except NotUniqueError:
            charge = SandboxCharge.objects.get(idempotency_key=idempotency_key)  # a retry: the first answer
        return ChargeResult(
            ok=charge.status == "succeeded",
            charge_id=charge.id,
            status=charge.status,
            failure_code=charge.failure_code,
            decline_code=charge.decline_code,
            message=MESSAGES.get(charge.decline_code) or MESSAGES.get(charge.failure_code, ""),
            card_brand=card.brand if card else "",
            card_last4=card.last4 if card else "",
        )

    def create_intent(
        self, *, amount_cents: int, currency: str, idempotency_key: str, metadata: dict
    ) -> Intent:
        """An intent id derived from the key (the same key, the same intent, as Stripe answers); nothing
        completes it but a signed webhook event naming it, as with Stripe."""
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
        return Intent(
            id=f"pi_sandbox_{digest[:24]}", client_secret=f"pi_sandbox_{digest[:24]}_secret_{digest[24:48]}"
        )
