"""Staff pages for a client's billing: the invoices, issuing one from the form's lines, asking the
client to pay, voiding."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from engine.authz import get_client_for
from engine.errors import PorticoError, ValidationFailed
from engine.models.organization import Organization
from engine.services.billing import billing, payment_requests
from web.api.billing import InvoiceIn
from web.pages._confirm import ask, confirmed, void_sentence
from web.pages._flash import back, on_refusal
from web.pages._forms import load
from web.security import access, current_actor

bp = Blueprint("staff_billing_pages", __name__, url_prefix="/staff")

LINE_ROWS = 3


@bp.get("/clients/<client_id>/billing")
@access("staff")
def client_billing(client_id):
    return _billing_page(client_id)


def _billing_page(client_id, *, values=None, errors=None, status: int = 200):
    """The billing tab; after a refused invoice, the form as it was typed with each problem by its field."""
    client = get_client_for(current_actor(), client_id)
    return render_template(
        "billing/staff_billing.html",
        client=client,
        tab="billing",
        rows=range(LINE_ROWS),
        invoices=billing.list_invoices(current_actor(), client_id),
        services=Organization.get().service_types,
        values=values or {},
        errors=errors or {},
        can_bill=current_actor().has("billing.manage"),
    ), status


# The form's field for each part of a line item the service names ("line_items.0.amount" -> amount_0).
_LINE_FIELDS = {
    "service_type": "service_type",
    "service": "service",
    "service_date": "date",
    "amount": "amount",
    "amount_cents": "amount",
    "description": "service",
}


def _invoice_errors(details: dict) -> dict[str, list[str]]:
    """The service's problems by the form's field names; a problem with the whole list goes to the form."""
    out: dict[str, list[str]] = {}
    for key, problems in (details or {}).items():
        parts = key.split(".")
        if parts[0] == "line_items" and len(parts) == 3 and parts[1].isdigit():
            field = f"{_LINE_FIELDS.get(parts[2], 'amount')}_{parts[1]}"
        else:
            field = "due_date" if key == "due_date" else "form"
        out.setdefault(field, []).extend(problems if isinstance(problems, list) else [str(problems)])
    return out


@bp.post("/clients/<client_id>/invoices")
@access("staff:billing.manage")
def create_invoice(client_id):
    """Issue an invoice from the form's lines; amounts as people type them ("$180.00"). A refusal shows
    the form again with every value kept and each problem beside its field."""
    form = request.form

    def refused(exc: PorticoError):
        if not isinstance(exc, ValidationFailed):
            return back(f"/staff/clients/{client_id}/billing", error=exc)
        errors = _invoice_errors(exc.details) or {"form": [exc.message]}
        return _billing_page(client_id, values=form.to_dict(), errors=errors, status=422)

    on_refusal(render=refused)
    items = []
    for i in range(LINE_ROWS):
        chosen = form.get(f"service_type_{i}", "")
        if not chosen and not form.get(f"service_{i}") and not form.get(f"amount_{i}"):
            continue
        service = form.get(f"service_{i}", "")  # left empty: the chosen service type's name
        items.append(
            {
                "service_type": chosen,
                **({"service": service} if service else {}),
                "service_date": form.get(f"date_{i}", ""),
                "amount": form.get(f"amount_{i}", ""),
            }
        )
    body = load(InvoiceIn, {"line_items": items, "due_date": form.get("due_date", "")})
    inv = billing.create_invoice(current_actor(), client_id, body)
    return back(f"/staff/clients/{client_id}/billing", f"Invoice {inv['number']} issued.")


@bp.post("/invoices/<invoice_id>/request-payment")
@access("staff:billing.manage")
def request_payment(invoice_id):
    """Ask the client to pay the invoice (the payment process: insurance details, then a card)."""
    on_refusal(f"/staff/clients/{request.form.get('client_id', '')}/billing")
    inv = payment_requests.request_payment(current_actor(), invoice_id)
    return back(
        f"/staff/clients/{inv['client_id']}/billing",
        f"Payment requested for invoice {inv['number']}: the client has it in their portal.",
    )


@bp.post("/invoices/<invoice_id>/void")
@access("staff:billing.manage")
def void(invoice_id):
    on_refusal(f"/staff/clients/{request.form.get('client_id', '')}/billing")
    if not confirmed(request.form):  # the confirm step: a post without it voids nothing and asks first
        found, client = billing.get_invoice_for(current_actor(), invoice_id, staff_need="billing.manage")
        sentence = void_sentence(
            number=found.number,
            client=client.display_name,
            total_cents=found.total_cents,
            currency=found.currency,
        )
        return ask(
            sentence,
            action=f"/staff/invoices/{invoice_id}/void",
            form=request.form,
            back_url=f"/staff/clients/{found.client}/billing",
            confirm_label="Void the invoice",
            nothing_yet="The invoice stays open until you confirm.",
        )
    inv = billing.void_invoice(current_actor(), invoice_id)
    return back(f"/staff/clients/{inv['client_id']}/billing", f"Invoice {inv['number']} voided.")
