"""Three staff journeys of issue 16 in a real browser (chromium), each page acted on checked with axe-core:
staff return a submitted form with a comment and the client is mailed and sees it returned; the front desk
acknowledges three forms at once from the inbox; an invoice typed as "$180" (after a typo) is issued for
18000 cents. The intake state is built through the API and services (tests/intake_lifecycle.py); the
worker, scheduler and SMTP server are the real ones from tests/fixtures."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from engine.models.billing import Invoice
from tests import intake_lifecycle as lc
from tests.helpers import api_login, browser_login, make_client, make_staff, sticking_out, wait_for

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _serious(page) -> list[dict]:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: ./dev setup installs axe-core from web/package.json")
    page.add_script_tag(content=AXE.read_text())
    found = page.evaluate(
        "async () => (await axe.run(document)).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))"
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


def _context(browser, viewport=DESKTOP):
    # bypass_csp: the test injects axe-core (the pages allow no inline script)
    context = browser.new_context(viewport=viewport, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


def _submitted_demographics(client, staff_api, smtp, first: str, last: str = "Tester"):
    """A client invited, activated and done with a one-form packet (demographics), through the API."""
    person = make_client(
        first_name=first, last_name=last, email=f"{first.lower()}@example.org", date_of_birth=date(1990, 1, 1)
    )
    assert client.post(f"/api/v1/clients/{person.id}/invite", headers=staff_api, json={}).status_code == 201
    portal = lc.activate(client, smtp, person.email)
    lc.fill_packet(client, portal, str(person.id), 1)
    return person


def _is_ack(task) -> bool:
    return task["form_key"] == "form_acknowledgement"


@pytest.mark.slow
def test_staff_return_a_form_with_a_comment_and_the_client_is_mailed(
    live_server, browser, client, installed, smtp, scheduler
):
    """In chromium: does "Return" with a blank comment come back with the plain-words error and "Return"
    still chosen, does a return with a comment mail the client (without the comment or the form's name),
    and does the client's portal show the form as returned?"""
    lc.configure(intake_packet=["demographics"], reminder_max=0)
    admin = make_staff(roles=("org_admin",))
    staff_api = api_login(client, admin.email)
    ann = _submitted_demographics(client, staff_api, smtp, "Ann", "Lovelace")
    [ack] = lc.wait_tasks(client, staff_api, _is_ack, "the acknowledgement task")
    mails_before = len(smtp.to(ann.email))

    context, page = _context(browser)
    try:
        browser_login(page, live_server, admin.email)
        page.goto(f"{live_server}/staff/tasks/{ack['id']}/acknowledge")
        comment_box = page.locator("#return-comment")
        assert not comment_box.is_visible()  # shown only once "Return" is chosen
        page.get_by_label("Return it to the client to change").check()
        comment_box.wait_for(state="visible")

        # Empty: the browser's own check holds the form back (the field is required once "Return" is chosen).
        page.get_by_role("button", name="Submit decision").click()
        assert page.evaluate("document.getElementById('return-comment').validity.valueMissing")
        assert page.url.endswith(f"/staff/tasks/{ack['id']}/acknowledge")
        # Only spaces: past the browser, the server refuses in plain words and keeps "Return" chosen.
        comment_box.fill("   ")
        with page.expect_navigation():
            page.get_by_role("button", name="Submit decision").click()
        assert page.locator("#decision-error").inner_text() == (
            "Write what the client should change before returning the form."
        )
        assert page.get_by_label("Return it to the client to change").is_checked()
        assert not page.get_by_label("Acknowledge: the form is complete").is_checked()
        assert comment_box.is_visible() and comment_box.get_attribute("aria-invalid") == "true"
        body = page.locator("body").inner_text()
        assert "return_comment" not in body and "Response required" not in body
        assert [t["id"] for t in lc.open_tasks(client, staff_api) if _is_ack(t)] == [ack["id"]]
        assert _serious(page) == []
        page.set_viewport_size(PHONE)
        assert sticking_out(page) == []

        comment = "Your phone number is missing a digit."
        comment_box.fill(comment)
        page.get_by_role("button", name="Submit decision").click()
        page.get_by_text("Form returned to the client.").wait_for()
    finally:
        context.close()

    mails = wait_for(lambda: smtp.to(ann.email)[mails_before:], what="the returned-form mail")
    [mail] = mails
    assert "has returned a form for you to change" in mail
    assert comment not in mail and "Client information" not in mail  # no health information in mail

    context, portal = _context(browser, PHONE)
    try:
        browser_login(portal, live_server, ann.email, lc.PORTAL_PASSWORD)
        step = portal.locator(".stepper .step-returned")

        def returned_listed():
            portal.goto(f"{live_server}/portal")
            return step.count() == 1

        wait_for(returned_listed, what="the returned form on the portal's home")
        assert "Returned: needs changes" in step.inner_text() and "Client information" in step.inner_text()
    finally:
        context.close()


@pytest.mark.slow
def test_front_desk_acknowledges_three_forms_at_once_from_the_inbox(
    live_server, browser, client, installed, smtp, scheduler
):
    """In chromium: does the inbox name each form and its client, and do three ticks and the one
    "Acknowledge selected forms" button acknowledge all three?"""
    lc.configure(intake_packet=["demographics"], reminder_max=0)
    admin = make_staff(roles=("org_admin",))
    staff_api = api_login(client, admin.email)
    people = [_submitted_demographics(client, staff_api, smtp, first) for first in ("Ada", "Bea", "Cy")]
    acks = lc.wait_tasks(client, staff_api, _is_ack, "three acknowledgement tasks", 3)
    desk = make_staff(roles=("front_desk",))

    context, page = _context(browser)
    try:
        browser_login(page, live_server, desk.email)
        page.goto(f"{live_server}/staff/inbox")
        for person in people:
            group = page.locator(".inbox-group").filter(
                has=page.get_by_role("heading", name=re.compile(f"^{person.first_name} Tester"))
            )
            assert group.get_by_role("link", name="Review Client information").count() == 1
        assert "Acknowledge a submitted form" not in page.locator("body").inner_text()
        assert _serious(page) == []
        page.set_viewport_size(PHONE)
        assert sticking_out(page) == []
        page.set_viewport_size(DESKTOP)

        for person in people:
            page.get_by_label(f"Select Review Client information for {person.first_name} Tester").check()
        page.get_by_role("button", name="Acknowledge selected forms").click()
        page.get_by_text(
            "3 forms acknowledged: Review Client information, Review Client information, "
            "Review Client information."
        ).wait_for()
        assert page.locator("input[name=task_id]").count() == 0  # no form is left to acknowledge
        assert _serious(page) == []
    finally:
        context.close()
    still_open = {t["id"] for t in lc.open_tasks(client, staff_api)}
    assert not still_open & {t["id"] for t in acks}


def test_an_invoice_typed_as_dollars_is_issued_after_a_typo_is_shown_beside_its_field(
    live_server, browser, family
):
    """In chromium: does "$18o" come back with a plain-words error beside the amount and every typed value
    kept, and does "$180" then issue an invoice of 18000 cents?"""
    desk = make_staff(roles=("front_desk",))
    minor = family["minor"]
    context, page = _context(browser)
    try:
        browser_login(page, live_server, desk.email)
        page.goto(f"{live_server}/staff/clients/{minor.id}/billing")
        page.fill("#service_0", "Intake session")
        page.fill("#date_0", "2026-11-03")
        page.fill("#amount_0", "$18o")
        page.fill("#due_date", "2026-12-01")
        with page.expect_navigation():
            page.get_by_role("button", name="Issue invoice").click()
        line = page.locator("fieldset").filter(has=page.locator("#amount_0"))
        assert line.locator("#amount_0-error").inner_text() == "must be an amount such as 140 or 140.00"
        assert page.get_attribute("#amount_0", "aria-invalid") == "true"
        assert "amount_0-error" in page.get_attribute("#amount_0", "aria-describedby")
        assert page.input_value("#service_0") == "Intake session"
        assert page.input_value("#date_0") == "2026-11-03"
        assert page.input_value("#amount_0") == "$18o"
        assert page.input_value("#due_date") == "2026-12-01"
        body = page.locator("body").inner_text()
        assert "amount_cents" not in body and "line_items" not in body
        assert Invoice.objects(client=minor.id).count() == 0
        assert _serious(page) == []
        page.set_viewport_size(PHONE)
        assert sticking_out(page) == []

        page.fill("#amount_0", "$180")
        page.get_by_role("button", name="Issue invoice").click()
        page.get_by_text(re.compile(r"^Invoice INV-\S+ issued\.$")).wait_for()
        [invoice] = Invoice.objects(client=minor.id)
        assert [(li.service, li.service_date, li.amount_cents) for li in invoice.line_items] == [
            ("Intake session", date(2026, 11, 3), 18000)
        ]
        assert invoice.total_cents == 18000 and invoice.due_date == date(2026, 12, 1)
        assert page.get_by_text(f"Invoice {invoice.number} issued.").count() == 1
    finally:
        context.close()
