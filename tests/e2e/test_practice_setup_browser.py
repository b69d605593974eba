"""A fresh practice in a real browser: the admin follows the set-up checklist (name, contact, time
zone, a location, a service, the cancellation policy, the logo), then invites a client with the
default packet, untouched; the client's mail and portal carry the practice's name and the packet's
order."""

from __future__ import annotations

import re

import pytest

from engine.models.forms import FormDefinition
from engine.services.intake.intake_setup import DEFAULT_PACKET
from tests.helpers import PASSWORD, make_client, make_staff, png, wait_for

CLIENT_PASSWORD = "a long portal password 42"


def _login(page, base, email, password):
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.mark.slow
def test_fresh_practice_setup_checklist_then_invite_with_default_packet(
    live_server,
    browser,
    page,
    installed,
    smtp,  # noqa: F811
    scheduler,
    tmp_path,
):  # noqa: F811
    """Can a new admin set the practice up from the checklist, and then invite a client without
    choosing forms, the client meeting the practice's name and the default packet in its order?"""
    admin = make_staff(roles=("org_admin",))
    _login(page, live_server, admin.email, PASSWORD)
    card = page.locator("#setup-card")
    assert "1 of 9 steps done" in card.inner_text()  # the shipped default packet is there already
    card.get_by_text("See the whole checklist").click()
    assert (
        page.locator("li.done").count() == 1
        and page.locator("li.done").get_attribute("data-step") == "packet"
    )

    page.get_by_role("link", name="Name your practice").click()
    page.fill("#name", "Harbor Counseling")
    page.fill("#address", "12 Harbor Street, Portland, ME")
    page.fill("#phone", "207-555-0100")
    page.fill("#timezone", "America/Denver")
    page.fill("#loc-0-name", "Harbor Street office")
    page.fill("#svc-0-name", "Individual therapy")
    page.fill("#svc-0-duration_minutes", "50")
    page.fill("#svc-0-price", "140")
    page.fill("#svc-1-name", "Video session")
    page.fill("#svc-1-duration_minutes", "45")
    page.fill("#svc-1-price", "120.50")
    page.select_option("select[name=svc-1-mode]", "telehealth")
    page.fill("#cancellation_policy", "Please cancel a day ahead.")
    page.get_by_role("button", name="Save the practice").click()
    page.get_by_text("The practice is saved.").wait_for()
    assert page.url.endswith("/admin/setup")
    done = {
        page.locator("li.done").nth(i).get_attribute("data-step")
        for i in range(page.locator("li.done").count())
    }
    assert done == {"packet", "name", "contact", "locations", "services", "policy"}
    assert page.locator("header .brand").inner_text().strip() == "Harbor Counseling"

    logo = tmp_path / "logo.png"
    logo.write_bytes(png())
    page.get_by_role("link", name="Upload your logo").click()
    page.set_input_files("#logo-file", str(logo))
    page.get_by_role("button", name="Upload logo").click()
    page.get_by_text("The logo is saved.").wait_for()
    assert page.locator("header .brand img").evaluate("img => img.complete && img.naturalWidth") == 8

    # Invite a client with the dialog as it opens: the default packet, ticked, in its order.
    ada = make_client(first_name="Ada", last_name="Lovelace", email="ada@example.org")
    page.goto(f"{live_server}/staff/clients/{ada.id}/documents")
    page.click("#invite-dialog summary")
    ticked = page.locator("input[name=packet]:checked")
    assert [ticked.nth(i).get_attribute("value") for i in range(ticked.count())] == list(DEFAULT_PACKET)
    page.click("#invite-dialog button[type=submit]")
    page.get_by_text("Invitation sent").wait_for()

    mail = wait_for(lambda: smtp.to("ada@example.org"), what="the invitation mail")[-1]
    assert "Harbor Counseling" in mail and "My Practice" not in mail
    link = smtp.links("ada@example.org", "/portal/activate?token=")[-1]
    client_page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    client_page.set_default_timeout(15000)
    client_page.goto(f"{live_server}/portal/activate?token={link.split('token=', 1)[1]}")
    assert "Harbor Counseling" in client_page.locator("header .brand").inner_text()
    client_page.fill("#password", CLIENT_PASSWORD)
    client_page.fill("#confirm", CLIENT_PASSWORD)
    client_page.click("button[type=submit]")
    client_page.get_by_text("Your account is active").wait_for()  # activation signs the client in
    client_page.goto(f"{live_server}/portal/tasks")
    titles = {f.key: f.title for f in FormDefinition.objects(key__in=list(DEFAULT_PACKET))}
    listed = client_page.locator(".stepper .step-body a").all_inner_texts()
    assert [re.sub(r"\s+", " ", t).strip() for t in listed] == [titles[k] for k in DEFAULT_PACKET]
    client_page.context.close()
