"""The pages around a payment request: staff press "Request payment" on an invoice, the guardian saves a
card on the Billing page and finds the card form in the portal."""

from __future__ import annotations

import json
from pathlib import Path

from engine.authz import SYSTEM
from engine.models.billing import Invoice, PaymentMethod
from engine.services.billing import billing
from engine.services.forms import forms
from engine.workflow.deploy import deploy
from tests.helpers import login_as, make_staff

ROOT = Path(__file__).resolve().parents[2]


def _post(client, path, csrf, data):
    return client.post(path, data={**data, "csrf_token": csrf["X-CSRFToken"]})


def _payment_process() -> None:
    for key, kind, folder in (
        ("insurance_information", "intake", "form_defs"),
        ("payment_method", "task", "workflows/forms"),
    ):
        forms.create_form(SYSTEM, key, kind, key, json.loads((ROOT / folder / f"{key}.json").read_text()))
        forms.publish(SYSTEM, key)
    deploy(SYSTEM, (ROOT / "workflows/bpmn/payment.bpmn").read_bytes())


def test_request_payment_button_and_saving_a_card_on_the_pages(client, family):
    """Does "Request payment" on the staff billing page start the request (once), and can the guardian save
    a card on the Billing page that the card form then offers?"""
    _payment_process()
    invoice = billing.create_invoice(
        SYSTEM,
        family["minor"].id,
        {"line_items": [{"service": "Session", "service_date": "2026-11-02", "amount_cents": 12500}]},
    )
    desk = make_staff(roles=("front_desk",))
    csrf = login_as(client, desk.email)
    base = f"/staff/clients/{family['minor'].id}/billing"
    assert "Request payment" in client.get(base).get_data(as_text=True)
    form = {"client_id": str(family["minor"].id)}
    assert _post(client, f"/staff/invoices/{invoice['id']}/request-payment", csrf, form).status_code == 303
    assert "Payment requested for invoice" in client.get(base).get_data(as_text=True)
    assert Invoice.objects.get(id=invoice["id"]).payment_request is not None
    _post(client, f"/staff/invoices/{invoice['id']}/request-payment", csrf, form)
    assert "already requested" in client.get(base).get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf["X-CSRFToken"]})

    csrf = login_as(client, family["emails"]["guardian"])
    bad = _post(
        client, "/portal/billing/cards", csrf, {"number": "4242", "exp_month": "13", "exp_year": "2040"}
    )
    assert bad.status_code == 303 and PaymentMethod.objects.count() == 0
    ok = _post(
        client,
        "/portal/billing/cards",
        csrf,
        {"number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "2040", "cvc": "123"},
    )
    assert ok.status_code == 303
    html = client.get("/portal/billing").get_data(as_text=True)
    assert "Saved Visa ending 4242 (expires 12/2040)." in html
    tasks = client.get("/portal/tasks").get_data(as_text=True)
    assert "Insurance information" in tasks  # the request reached the portal
