"""Closing requests and sharing documents in a real browser: staff cancel one requested form and a
whole intake, file a paper form that answers a request, share an upload with the client and hide it
again; the client's pages follow each step, and a form the client submits shows as awaiting review.

Operations (the invitation mail) are performed here directly (tests.intake_lifecycle.perform_all)."""

from __future__ import annotations

from bson import ObjectId

from engine.models.organization import Organization
from engine.models.workflow import ProcessInstance
from tests import intake_lifecycle as lc
from tests.e2e.test_intake_browser import _fill
from tests.helpers import PASSWORD, browser_login, make_client, make_portal_account, make_staff

PACKET = ["demographics", "phq9", "gad7"]


def _perform_intakes(client_id) -> None:
    for doc in ProcessInstance.objects(client_id=ObjectId(str(client_id)), status="running"):
        lc.perform_all(doc.id)


def _client_forms(page, base) -> list[str]:
    page.goto(f"{base}/portal/tasks")
    return sorted(page.locator(".stepper .step-body a").all_inner_texts())


def test_staff_close_requests_and_share_documents(live_server, browser, page, installed, smtp):  # noqa: F811
    """Can staff cancel a form and an intake with a reason, answer a request with a paper form and
    share a document, and does the client's portal show each change, with a submitted form awaiting
    review?"""
    org = Organization.get()
    org.name, org.portal.intake_packet, org.portal.reminder_max = "Harbor Counseling", PACKET, 2
    org.portal.reminder_cadence = "P1D"
    org.save()
    admin = make_staff(roles=("org_admin",))
    ada = make_client(first_name="Ada", last_name="Lovelace", email="ada@example.org")
    make_portal_account(client=ada)
    docs = f"{live_server}/staff/clients/{ada.id}/documents"

    browser_login(page, live_server, admin.email, PASSWORD)
    page.goto(docs)
    page.click("#invite-dialog summary")
    page.click("#invite-dialog button[type=submit]")
    page.get_by_text("Invitation sent").wait_for()
    _perform_intakes(ada.id)

    # bypass_csp: the test fills the form through its model with page.evaluate (see test_intake_browser)
    portal = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True).new_page()
    portal.set_default_timeout(15000)
    browser_login(portal, live_server, "ada@example.org", PASSWORD)
    assert len(_client_forms(portal, live_server)) == 3

    # Cancel one form, with a reason.
    page.goto(docs)
    gad7 = page.locator("ul.outstanding li").filter(has_text="GAD-7")
    gad7.locator("summary").click()
    gad7.locator("input[name=reason]").fill("Done at the first session")
    gad7.locator("button[type=submit]").click()
    page.get_by_text("Form request cancelled.").wait_for()
    cancelled = page.locator("table.closed-requests tr").filter(has_text="GAD-7")
    assert "Cancelled" in cancelled.inner_text() and "Done at the first session" in cancelled.inner_text()
    assert len(_client_forms(portal, live_server)) == 2

    # A paper client information form answers its request.
    page.fill("#doc-title", "Paper intake form")
    page.set_input_files(
        "#doc-file",
        files=[
            {"name": "info.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 a scanned paper form"}
        ],
    )
    page.select_option("#doc-answers", label="Client information")
    page.click("#doc-answers ~ button[type=submit]")
    page.get_by_text("Paper form filed").wait_for()
    answered = page.locator("table.closed-requests tr").filter(has_text="Client information")
    assert "Answered on paper" in answered.inner_text()
    assert len(_client_forms(portal, live_server)) == 1

    # Share the paper form with the client, then hide it again.
    row = page.locator("tbody tr").filter(has_text="Paper intake form")
    row.get_by_role("button", name="Share with client").click()
    page.get_by_text("Shared with the client.").wait_for()
    portal.goto(f"{live_server}/portal/documents")
    assert portal.locator(".document-list").get_by_text("Paper intake form").count() == 1

    # The client submits the last form: it shows at once, awaiting review.
    portal.goto(f"{live_server}/portal/tasks")
    portal.locator(".stepper .step-body a").first.click()
    _fill(portal, portal.locator("#task-page").get_attribute("data-form-key"))
    portal.goto(f"{live_server}/portal/documents")
    waiting = portal.locator(".submitted-list li").filter(has_text="PHQ-9")
    assert "Awaiting review" in waiting.inner_text()

    page.goto(docs)
    page.locator("tbody tr").filter(has_text="Paper intake form").get_by_role(
        "button", name="Hide from client"
    ).click()
    page.get_by_text("Hidden from the client.").wait_for()
    portal.goto(f"{live_server}/portal/documents")
    assert portal.get_by_text("Paper intake form").count() == 0

    # A form sent on its own, then the whole request cancelled.
    page.select_option("#send-form", label="GAD-7")
    page.click("#send-form ~ button[type=submit]")
    page.get_by_text("Form sent.").wait_for()
    _perform_intakes(ada.id)
    assert len(_client_forms(portal, live_server)) == 1
    page.goto(docs)
    page.locator("details.cancel-intake summary").click()
    page.locator("details.cancel-intake input[name=reason]").fill("Sent by mistake")
    page.locator("details.cancel-intake button[type=submit]").click()
    page.get_by_text("Intake cancelled.").wait_for()
    assert _client_forms(portal, live_server) == []
    assert page.locator("table.closed-requests").get_by_text("Sent by mistake").count() == 1
    portal.context.close()


def test_a_therapist_fills_a_session_note(live_server, browser, installed, smtp):  # noqa: F811
    """Can a therapist open a dynamic form for a client from General Documents, find it prefilled from
    the client record, submit it, and see it filed there?"""
    from engine.authz import SYSTEM
    from engine.services.forms import forms as form_service
    from tests.engine.services.intake.test_dynamic_forms_in_use import NOTE

    form_service.create_form(SYSTEM, "session_note", "dynamic", "Session note", NOTE)
    form_service.publish(SYSTEM, "session_note")
    therapist = make_staff(roles=("therapist",))
    ada = make_client(
        first_name="Ada", last_name="Lovelace", email="ada@example.org", assigned_staff=[therapist.id]
    )
    page = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True).new_page()
    page.set_default_timeout(15000)
    browser_login(page, live_server, therapist.email, PASSWORD)
    page.goto(f"{live_server}/staff/clients/{ada.id}/documents")
    page.get_by_role("link", name="Session note").click()
    page.wait_for_function("window.porticoSurvey !== undefined")
    assert page.evaluate("window.porticoSurvey.getValue('client_name')").startswith("Ada")
    page.evaluate("window.porticoSurvey.setValue('note', 'Worked on sleep.')")
    page.locator(".sd-navigation__complete-btn").click()
    page.wait_for_url("**/documents")
    row = page.locator("tbody tr").filter(has_text="Session note")
    assert "Completed form" in row.inner_text()
    page.context.close()
