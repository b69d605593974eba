"""API: invoices, payments (Idempotency-Key header required), receipts, saved payment methods,
Stripe payment intents and Stripe's webhook."""

from __future__ import annotations

import marshmallow as ma
from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.errors import ValidationFailed
from engine.services.billing import billing, card_intents, payment_requests
from web.security import access, current_actor, public

blp = Blueprint("billing_api", __name__, url_prefix="/api/v1", description="Invoices and payments")

_S, _I, _B = ma.fields.String, ma.fields.Integer, ma.fields.Boolean


class InvoiceLineItem(ma.Schema):
    service_type = _S(
        allow_none=True,
        metadata={
            "description": "key of one of the practice's service types: its name and price fill `service` and "
            "`amount_cents` when they are left out"
        },
    )
    service = _S(
        validate=ma.validate.Length(min=1, max=200), metadata={"description": "required without service_type"}
    )
    service_date = _S(required=True, metadata={"description": "YYYY-MM-DD"})
    amount_cents = _I(strict=True, metadata={"description": "required without service_type"})
    amount = _S(
        validate=ma.validate.Length(max=40),
        load_only=True,
        metadata={"description": 'the amount as people type it ("$180.00"), instead of amount_cents'},
    )
    description = _S(load_default="")


class InvoiceIn(ma.Schema):
    line_items = ma.fields.List(ma.fields.Nested(InvoiceLineItem), required=True)
    due_date = _S(allow_none=True)
    currency = _S(load_default="usd")


class PaymentCard(ma.Schema):
    brand, last4 = _S(), _S()


class PaymentFailure(ma.Schema):
    code, decline_code, message = _S(), _S(), _S()


class PaymentReceipt(ma.Schema):
    number, paid_at = _S(), _S(allow_none=True)
    amount_cents = _I()


class PaymentOut(ma.Schema):
    id, invoice_id, client_id, status, currency, gateway, created_at = (
        _S(),
        _S(),
        _S(),
        _S(),
        _S(),
        _S(),
        _S(),
    )
    amount_cents = _I()
    completed_at = _S(allow_none=True)
    card = ma.fields.Nested(PaymentCard)
    failure = ma.fields.Nested(PaymentFailure)
    receipt = ma.fields.Nested(PaymentReceipt)
    replayed = _B(metadata={"description": "true when this answers a repeated Idempotency-Key"})


class InvoiceOut(ma.Schema):
    id, number, client_id, status, currency, created_at = _S(), _S(), _S(), _S(), _S(), _S()
    total_cents, paid_cents, balance_cents = _I(), _I(), _I()
    due_date, paid_at = _S(allow_none=True), _S(allow_none=True)
    line_items = ma.fields.List(ma.fields.Nested(InvoiceLineItem))
    payments = ma.fields.List(ma.fields.Nested(PaymentOut))


class InvoiceList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(InvoiceOut))


class SandboxCardIn(ma.Schema):
    number = _S(required=True)
    exp_month, exp_year = _I(required=True), _I(required=True)
    cvc = _S(load_default="")


class PaymentIn(ma.Schema):
    payment_method = _S(
        metadata={"description": "a saved payment method id, or a gateway token (Stripe pm_…)"}
    )
    card = ma.fields.Nested(
        SandboxCardIn, metadata={"description": "sandbox gateway only: test card details"}
    )
    amount_cents = _I(strict=True, metadata={"description": "default: the whole balance"})
    save_method = _B(load_default=False)


class PaymentMethodOut(ma.Schema):
    id, gateway, brand, last4 = _S(), _S(), _S(), _S()
    label = _S(metadata={"description": "what a person reads: brand, last four digits, expiry"})
    exp_month, exp_year = _I(allow_none=True), _I(allow_none=True)


class PaymentMethodIn(ma.Schema):
    payment_method = _S(metadata={"description": "a gateway token (Stripe pm_…)"})
    card = ma.fields.Nested(
        SandboxCardIn, metadata={"description": "sandbox gateway only: test card details"}
    )


class PaymentMethodList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PaymentMethodOut))


@blp.route("/clients/<client_id>/invoices")
class Invoices(MethodView):
    @blp.response(200, InvoiceList)
    @access("authenticated")
    def get(self, client_id):
        """A client's invoices with balances and payments (portal: with the payments permission)."""
        return {"items": billing.list_invoices(current_actor(), client_id)}

    @blp.arguments(InvoiceIn)
    @blp.response(201, InvoiceOut)
    @access("staff:billing.manage")
    def post(self, body, client_id):
        """Issue an invoice; the client's payers get a notice (no amounts or services in the mail)."""
        return billing.create_invoice(current_actor(), client_id, body)


@blp.route("/invoices/<invoice_id>/void")
class InvoiceVoid(MethodView):
    @blp.response(200, InvoiceOut)
    @access("staff:billing.manage")
    def post(self, invoice_id):
        """Void an open invoice on which nothing has been paid."""
        return billing.void_invoice(current_actor(), invoice_id)


@blp.route("/invoices/<invoice_id>/payments")
class Payments(MethodView):
    @blp.arguments(PaymentIn)
    @blp.response(201, PaymentOut)
    @blp.alt_response(402, description="declined: error.code card_declined etc., details.decline_code")
    @access("authenticated")
    def post(self, body, invoice_id):
        """Pay an invoice. The Idempotency-Key header is required: a retry with it never charges twice."""
        key = request.headers.get("Idempotency-Key", "")
        if not key:
            raise ValidationFailed(
                "the Idempotency-Key header is required", details={"Idempotency-Key": ["is required"]}
            )
        actor = current_actor()
        # Keys are per caller (as a processor scopes them per account): one user's key can never
        # collide with, or reveal, another's.
        scoped = f"api:{actor.kind}:{actor.id}:{key[:200]}"
        return billing.raise_if_failed(
            billing.charge_invoice(actor, invoice_id, idempotency_key=scoped, **body)
        )


@blp.route("/clients/<client_id>/payment-methods")
class PaymentMethods(MethodView):
    @blp.response(200, PaymentMethodList)
    @access("authenticated")
    def get(self, client_id):
        """Saved cards (brand, last four, expiry; the gateway keeps the card)."""
        return {"items": billing.list_payment_methods(current_actor(), client_id)}

    @blp.arguments(PaymentMethodIn)
    @blp.response(201, PaymentMethodOut)
    @access("authenticated")
    def post(self, body, client_id):
        """Save a card for later payments without paying now (sandbox: test card details; Stripe: a pm_… token)."""
        return billing.save_payment_method(current_actor(), client_id, **body)


@blp.route("/payment-methods/<method_id>")
class PaymentMethodItem(MethodView):
    @blp.response(204)
    @access("authenticated")
    def delete(self, method_id):
        """Forget a saved card."""
        billing.delete_payment_method(current_actor(), method_id)


class ReceiptOut(ma.Schema):
    number, practice, client_name = _S(), _S(), _S()
    invoice = ma.fields.Nested(InvoiceOut)
    payment = ma.fields.Nested(PaymentOut)


@blp.route("/payments/<payment_id>/receipt")
class ReceiptItem(MethodView):
    @blp.response(200, ReceiptOut)
    @access("authenticated")
    def get(self, payment_id):
        """The receipt of a successful payment."""
        return billing.get_receipt(current_actor(), payment_id)


class PaymentIntentOut(ma.Schema):
    intent_id, client_secret, currency, publishable_key = _S(), _S(), _S(), _S()
    amount_cents = _I()


@blp.route("/invoices/<invoice_id>/payment-intent")
class PaymentIntent(MethodView):
    @blp.response(201, PaymentIntentOut)
    @access("authenticated")
    def post(self, invoice_id):
        """Open a payment of the whole balance for Stripe's Payment Element (the same balance: the same
        intent). The invoice is credited when Stripe's webhook says the payment succeeded."""
        return card_intents.start_intent(current_actor(), invoice_id)


class WebhookAnswer(ma.Schema):
    outcome = _S(metadata={"description": "credited, duplicate or ignored"})


@blp.route("/stripe/webhook")
class StripeWebhook(MethodView):
    @blp.response(200, WebhookAnswer)
    @blp.alt_response(400, description="the Stripe-Signature header does not verify; nothing was done")
    @public
    def post(self):
        """Stripe's events, verified by their signature (PORTICO_STRIPE_WEBHOOK_SECRET); a succeeded
        payment intent credits its invoice once, however often Stripe sends the event."""
        return {
            "outcome": card_intents.handle_stripe_webhook(
                request.get_data(cache=False), request.headers.get("Stripe-Signature", "")
            )
        }


class PaymentRequestOut(InvoiceOut):
    payment_request = _S(metadata={"description": "the payment process started for the invoice"})


@blp.route("/invoices/<invoice_id>/payment-request")
class PaymentRequest(MethodView):
    @blp.response(201, PaymentRequestOut)
    @access("staff:billing.manage")
    def post(self, invoice_id):
        """Ask the client to pay: starts the payment process (insurance details, then the client's card).
        409 payment_already_requested while an earlier request for the invoice runs."""
        return payment_requests.request_payment(current_actor(), invoice_id)
