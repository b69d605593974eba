"""Portal pages for the active profile's billing: invoices with balances, paying one, saved cards, receipts.

A payment form carries an idempotency key made when the page was rendered, so a double click charges once.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, make_response, render_template, request

from engine import config
from engine.services.billing import billing
from web.api.billing import PaymentIn, PaymentMethodIn
from web.headers import allow_stripe
from web.pages._flash import back, on_refusal
from web.pages._forms import load
from web.pages._portal import active_profile
from web.security import access, current_actor

bp = Blueprint("portal_billing_pages", __name__, url_prefix="/portal")


def _card(form) -> dict:
    """The sandbox test card's fields as typed."""
    return {k: form.get(k, "") for k in ("number", "exp_month", "exp_year", "cvc")}


@bp.get("/billing")
@access("portal")
def billing_page():
    """Invoices with balances and receipts; a pay form for each open one."""
    profile = active_profile("payments")
    actor = current_actor()
    settings = config.current()
    # Stripe.js comes in only with Stripe configured, and only this page's CSP lets it in.
    stripe_key = settings.stripe_publishable_key if settings.payment_gateway == "stripe" else None
    page = render_template(
        "billing/portal_billing.html",
        profile=profile,
        invoices=billing.list_invoices(actor, profile["client_id"]),
        methods=billing.list_payment_methods(actor, profile["client_id"]),
        sandbox=settings.payment_gateway == "sandbox",
        stripe_key=stripe_key,
        pay_key=secrets.token_urlsafe(16),
        active_tab="billing",
    )
    return allow_stripe(make_response(page)) if stripe_key else page


@bp.post("/billing/<invoice_id>/pay")
@access("portal")
def pay(invoice_id):
    active_profile("payments")
    on_refusal("/portal/billing")
    form = request.form
    actor = current_actor()
    paying = (
        {"payment_method": form["payment_method"]} if form.get("payment_method") else {"card": _card(form)}
    )
    body = load(PaymentIn, {**paying, "save_method": "save_method" in form})
    payment = billing.raise_if_failed(
        billing.charge_invoice(
            actor, invoice_id, idempotency_key=f"page:{actor.id}:{form.get('idempotency_key', '')}", **body
        )
    )
    return back("/portal/billing", f"Thank you — payment received. Receipt {payment['receipt']['number']}.")


@bp.post("/billing/cards")
@access("portal")
def save_card():
    """Keep a card for later payments (sandbox test cards; with Stripe the Payment Element pays directly)."""
    profile = active_profile("payments")
    on_refusal("/portal/billing")
    saved = billing.save_payment_method(
        current_actor(), profile["client_id"], **load(PaymentMethodIn, {"card": _card(request.form)})
    )
    return back("/portal/billing", f"Saved {saved['label']}.")


@bp.get("/billing/receipts/<payment_id>")
@access("portal")
def receipt(payment_id):
    """A printable receipt."""
    profile = active_profile("payments")
    return render_template(
        "billing/receipt.html", profile=profile, receipt=billing.get_receipt(current_actor(), payment_id)
    )
