"""Accounts in a real browser (issue 15): a forgotten password is reset from a mailed link (the mail sent
by a worker), ending the old session; a contact with one right is invited to the portal, activates, is
signed in and sees only what that right allows."""

from __future__ import annotations

import pytest

from engine.models.clients import Contact, ContactLink, LinkPermissions
from tests.helpers import PASSWORD, make_client, make_staff, wait_for

NEW_PASSWORD = "a brand new password 77"
PERMISSION = "Can invite clients to the client portal and manage intake forms"


def _login(page, base, email, password):
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def _new_page(browser):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(15000)
    return page


@pytest.mark.slow
def test_forgot_password_mail_reset_signed_in_old_session_gone(live_server, browser, page, smtp, worker):  # noqa: F811
    """Forgot password → mail → reset → signed in: does the link from the mail set a new password, sign
    this browser in, and end the session another browser still had?"""
    staff = make_staff(roles=("therapist",), first_name="Tessa")
    old = _new_page(browser)
    _login(old, live_server, staff.email, PASSWORD)
    old.goto(f"{live_server}/staff")
    assert "/login" not in old.url

    page.goto(f"{live_server}/login")
    page.get_by_role("link", name="Forgot password?").click()
    page.get_by_label("E-mail").fill(staff.email)
    page.get_by_role("button", name="Mail me a link").click()
    page.get_by_text("If that address belongs to an account").wait_for()

    link = wait_for(lambda: smtp.links(staff.email, "/password/reset?token="), what="the reset mail")[-1]
    reset = f"{live_server}/password/reset?token={link.split('token=', 1)[1]}"
    page.goto(reset)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save the new password").click()
    page.get_by_text("Your password is changed").wait_for()
    assert "/staff" in page.url

    old.goto(f"{live_server}/staff")
    assert "/login" in old.url  # the other browser's session ended with the reset
    page.goto(reset)
    page.get_by_text("this link is invalid, used or expired").wait_for()  # single use
    old.context.close()


@pytest.mark.slow
def test_contact_invited_logs_in_and_sees_only_their_right(live_server, browser, page, smtp, worker):  # noqa: F811
    """Once the administrator adds the invite permission to Default Permissions, can a therapist invite a
    contact who may only message for a client, and does that contact, signed in after activation, see
    Messages and nothing else of the client's?"""
    admin = make_staff(roles=("org_admin",))
    therapist = make_staff(roles=("therapist",))
    theo = make_client(first_name="Theo", last_name="Young", assigned_staff=[therapist.id])
    uncle = Contact(first_name="Umberto", last_name="Uncle", email="uncle@example.org").save()
    ContactLink(
        contact=uncle, client=theo, relationship="uncle", permissions=LinkPermissions(messages=True)
    ).save()

    # Not granted by default: the page names the permission to ask for.
    _login(page, live_server, therapist.email, PASSWORD)
    page.goto(f"{live_server}/staff/clients/{theo.id}/contacts")
    page.get_by_text(f"ask your administrator for the permission “{PERMISSION}”").wait_for()
    assert page.get_by_role("button", name="Invite to the portal").count() == 0

    admin_page = _new_page(browser)
    _login(admin_page, live_server, admin.email, PASSWORD)
    admin_page.goto(f"{live_server}/admin/permissions")
    admin_page.get_by_label(PERMISSION).check()
    admin_page.get_by_role("button", name="Save default permissions").click()
    admin_page.get_by_text("Default permissions saved").wait_for()
    admin_page.context.close()

    page.goto(f"{live_server}/staff/clients/{theo.id}/contacts")
    page.get_by_role("button", name="Invite to the portal").click()
    page.get_by_text("Invitation sent to uncle@example.org").wait_for()

    link = wait_for(
        lambda: smtp.links("uncle@example.org", "/portal/activate?token="), what="the invitation"
    )[-1]
    portal = _new_page(browser)
    portal.goto(f"{live_server}/portal/activate?token={link.split('token=', 1)[1]}")
    portal.fill("#password", NEW_PASSWORD)
    portal.fill("#confirm", NEW_PASSWORD)
    portal.get_by_role("button", name="Activate my account").click()
    portal.get_by_text("Your account is active").wait_for()
    portal.goto(f"{live_server}/portal/messages")
    nav = portal.get_by_role("navigation", name="Portal")
    assert nav.get_by_role("link", name="Messages").is_visible()
    for hidden in ("Forms", "Documents", "Appointments", "Billing", "Insurance"):
        assert nav.get_by_role("link", name=hidden).count() == 0, hidden
    for denied in ("tasks", "billing", "appointments"):
        assert portal.goto(f"{live_server}/portal/{denied}").status == 404, denied
    portal.context.close()
