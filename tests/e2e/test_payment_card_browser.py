"""Browser: the payment process's "Update your payment method" form lists the client's saved cards (loaded
from the API for the task's client) and completing it charges the card chosen."""

from __future__ import annotations

import json
from pathlib import Path

from engine.authz import SYSTEM, portal_actor, staff_actor
from engine.models.billing import Invoice
from engine.services.billing import billing, payment_requests
from engine.services.forms import forms
from engine.services.inbox import tasks
from engine.workflow.deploy import deploy
from tests.form_fills import VALID
from tests.helpers import PASSWORD, make_client, make_portal_account, make_staff
from tests.intake_lifecycle import perform_all

ROOT = Path(__file__).resolve().parents[2]


def test_client_chooses_a_saved_card_in_the_card_form(live_server, browser):
    """Does the card form show the client's saved card by its label, and does choosing it pay the invoice?"""
    for key, kind, folder in (
        ("insurance_information", "intake", "form_defs"),
        ("payment_method", "task", "workflows/forms"),
    ):
        forms.create_form(SYSTEM, key, kind, key, json.loads((ROOT / folder / f"{key}.json").read_text()))
        forms.publish(SYSTEM, key)
    deploy(SYSTEM, (ROOT / "workflows/bpmn/payment.bpmn").read_bytes())
    admin = make_staff(roles=("org_admin",))
    ann = make_client(first_name="Ann", email="ann@example.org")
    ann_actor = portal_actor(make_portal_account(client=ann))
    invoice = billing.create_invoice(
        SYSTEM,
        ann.id,
        {"line_items": [{"service": "Session", "service_date": "2026-11-02", "amount_cents": 9000}]},
    )
    iid = payment_requests.request_payment(staff_actor(admin), invoice["id"])["payment_request"]
    [insurance] = tasks.inbox(ann_actor)["items"]
    tasks.complete(ann_actor, insurance["id"], VALID["insurance_information"])
    saved = billing.save_payment_method(
        ann_actor,
        ann.id,
        card={"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"},
    )

    # bypass_csp: the test reads the form model through page.evaluate (the pages themselves allow no eval)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(f"{live_server}/login")
        page.fill("#email", "ann@example.org")
        page.fill("#password", PASSWORD)
        page.locator("form button[type=submit]").first.click()
        page.wait_for_load_state()
        page.goto(f"{live_server}/portal/tasks")
        page.get_by_text("Update your payment method").click()
        page.wait_for_function(
            "window.porticoSurvey && window.porticoSurvey.getQuestionByName('payment_method')"
            ".visibleChoices.length > 0"
        )
        labels = page.evaluate(
            "window.porticoSurvey.getQuestionByName('payment_method').visibleChoices"
            ".map(c => [c.value, c.text])"
        )
        assert labels == [[saved["id"], "Visa ending 4242 (expires 12/2040)"]]
        page.evaluate("id => window.porticoSurvey.setValue('payment_method', id)", saved["id"])
        here = page.url
        page.locator(".sd-navigation__complete-btn").click()
        page.wait_for_function("u => location.href !== u && !location.pathname.endsWith('/next')", arg=here)
    finally:
        context.close()
    assert perform_all(iid) == ["charge_payment"]
    assert Invoice.objects.get(id=invoice["id"]).status == "paid"
