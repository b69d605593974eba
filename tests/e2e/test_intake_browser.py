"""The intake in a real browser: staff invite an adult client, who activates the account, completes
a three-form packet (one form signed by drawing on the signature pad), staff acknowledge each form,
and the packet PDF appears in the client's General Documents."""

from __future__ import annotations

import pytest

from engine.models.organization import Organization
from tests.form_fills import VALID
from tests.helpers import PASSWORD, browser_login, make_client, make_staff, wait_for

PACKET = ["gad7", "phq9", "npp_acknowledgment"]
CLIENT_PASSWORD = "a long portal password 42"


def _draw_signature(page):
    canvas = page.locator(".sd-question--signaturepad canvas, .sjs_sp_container canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, y = box["x"] + 20, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, 12):
        page.mouse.move(x + i * 15, y + (12 if i % 2 else -12), steps=3)
    page.mouse.up()


def _fill(page, form_key):
    """Answer through the form's own model, except the signature, which is drawn."""
    answers = {k: v for k, v in VALID[form_key].items() if k != "signature"}
    page.wait_for_function("window.porticoSurvey !== undefined")
    page.evaluate(
        "a => { for (const [k, v] of Object.entries(a)) window.porticoSurvey.setValue(k, v); }", answers
    )
    if "signature" in VALID[form_key]:
        _draw_signature(page)
        page.wait_for_function("!!window.porticoSurvey.getValue('signature')")
    here = page.url
    page.locator(".sd-navigation__complete-btn").click()
    # After a form the portal moves on by itself: to the next form, or home when all are in.
    page.wait_for_function("u => location.href !== u && !location.pathname.endsWith('/next')", arg=here)


@pytest.mark.slow
def test_adult_client_completes_packet_and_staff_acknowledge(
    live_server, browser, page, installed, smtp, scheduler
):
    """Can an invited adult activate, fill in three forms with a drawn signature, and, once staff
    acknowledged them, find the packet PDF in General Documents?"""
    org = Organization.get()
    org.name, org.portal.intake_packet, org.portal.reminder_max = "Harbor Counseling", PACKET, 0
    org.save()
    admin = make_staff(roles=("org_admin",))
    ada = make_client(first_name="Ada", last_name="Lovelace", email="ada@example.org")

    # Staff invite from the client's General Documents tab, with the default packet pre-ticked.
    browser_login(page, live_server, admin.email, PASSWORD)
    page.goto(f"{live_server}/staff/clients/{ada.id}/documents")
    page.click("#invite-dialog summary")
    assert page.locator("input[name=packet]:checked").count() == 3
    page.click("#invite-dialog button[type=submit]")
    page.get_by_text("Invitation sent").wait_for()

    link = wait_for(lambda: smtp.links("ada@example.org", "/portal/activate?token="), what="activation mail")[
        -1
    ]
    # bypass_csp: the test reads the form model through page.evaluate (the pages themselves allow no eval)
    client_page = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True).new_page()
    client_page.set_default_timeout(15000)
    client_page.goto(f"{live_server}/portal/activate?token={link.split('token=', 1)[1]}")
    client_page.fill("#password", CLIENT_PASSWORD)
    client_page.fill("#confirm", CLIENT_PASSWORD)
    client_page.click("button[type=submit]")
    # Activation signs the client in (issue 15): no second trip through the login form.
    client_page.get_by_text("Your account is active").wait_for()

    # On a phone, from the home page's checklist: "Start", then each form leads to the next.
    client_page.goto(f"{live_server}/portal")
    start = client_page.locator(".checklist a.button")

    def three_forms_listed():
        client_page.reload()  # reload() answers a truthy response: it cannot stand in an `or`
        return "0 of 3 done" in client_page.locator(".checklist h2").inner_text()

    wait_for(three_forms_listed, what="three forms on the home checklist")
    start.click()
    for _ in PACKET:
        form_key = client_page.locator("#task-page").get_attribute("data-form-key")
        _fill(client_page, form_key)
    client_page.get_by_text("All forms done").first.wait_for()
    assert client_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    docs = f"{live_server}/staff/clients/{ada.id}/documents"
    page.goto(docs)
    wait_for(
        lambda: page.goto(docs) and page.get_by_text("Review a submitted form").count() == 3,
        what="three acknowledgement tasks",
    )
    for _ in PACKET:
        page.get_by_text("Review a submitted form").first.click()
        page.click("form.card button[type=submit]")
        page.get_by_text("Form acknowledged").wait_for()
    packet_row = page.locator("tbody tr").filter(has_text="Intake packet")
    wait_for(lambda: page.goto(docs) and packet_row.count() == 1, what="the packet PDF")
    response = page.request.get(f"{live_server}{packet_row.locator('a').get_attribute('href')}")
    assert response.status == 200 and response.body().startswith(b"%PDF-")
    client_page.context.close()
