"""Server-rendered pages: staff home, clients, client page with contact network, admin, portal switcher."""

from __future__ import annotations

import re
from datetime import date

from engine.authz import staff_actor
from engine.models.accounts import StaffMember
from engine.models.clients import Contact, ContactLink, LinkPermissions
from engine.models.organization import Location, Organization
from tests.helpers import api_login, login_as, make_client, make_portal_account, make_staff


def _form(csrf: dict, **fields) -> dict:
    return {"csrf_token": csrf["X-CSRFToken"], **fields}


def test_pages_need_login_and_the_right_audience(client):
    """Are staff pages sent to the login when logged out, and refused to portal users and therapists?"""
    resp = client.get("/staff/clients")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    portal = make_portal_account(client=make_client())
    login_as(client, portal.email)
    assert client.get("/staff").status_code == 403
    assert client.get("/portal").status_code == 200


def test_staff_home_greets_and_lists_my_clients(client):
    """Does the staff home greet the member and list the clients assigned to them?"""
    therapist = make_staff(roles=("therapist",), first_name="Priya")
    make_client(first_name="Alex", last_name="Morgan", assigned_staff=[therapist.id])
    make_client(first_name="Not", last_name="Mine")
    login_as(client, therapist.email)
    html = client.get("/staff").get_data(as_text=True)
    assert "Welcome, Priya" in html and "Alex Morgan" in html and "Not Mine" not in html
    assert '<th scope="row">' in html and 'href="/staff/clients"' in html


def test_create_client_from_the_list_shows_errors_beside_fields(client):
    """Does the new-client form show a field error beside the field, and create the client when valid?"""
    desk = make_staff(roles=("front_desk",))
    csrf = login_as(client, desk.email)
    bad = client.post("/staff/clients", data=_form(csrf, first_name="", last_name="Quist", email="nope"))
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert 'id="first_name-error"' in html and 'id="email-error"' in html and 'aria-invalid="true"' in html
    assert (
        client.post("/staff/clients", data={"first_name": "A", "last_name": "B"}).status_code == 400
    )  # no CSRF
    made = client.post(
        "/staff/clients", data=_form(csrf, first_name="Nora", last_name="Quist", date_of_birth="1990-05-01")
    )
    assert made.status_code == 303
    page = client.get(made.headers["Location"]).get_data(as_text=True)
    assert "<h1>Nora Quist</h1>" in page and "1990-05-01" in page
    assert "Nora Quist" in client.get("/staff/clients?q=qu").get_data(as_text=True)


def test_client_page_adds_edits_and_removes_contacts(client):
    """Can front desk add a non-client contact, change the link and remove it from the client page?"""
    desk = make_staff(roles=("front_desk",))
    minor = make_client(first_name="Sam", date_of_birth=date(2014, 1, 1))
    csrf = login_as(client, desk.email)
    url = f"/staff/clients/{minor.id}"
    missing = client.post(f"{url}/contacts", data=_form(csrf, first_name="Jo", last_name=""))
    assert missing.status_code == 422 and 'id="relationship-error"' in missing.get_data(as_text=True)
    added = client.post(
        f"{url}/contacts",
        data=_form(
            csrf,
            first_name="Jo",
            last_name="Rivera",
            email="jo@example.org",
            relationship="mother",
            is_guardian="on",
            perm_forms="on",
        ),
    )
    assert added.status_code == 303
    link = ContactLink.objects.get(client=minor.id)
    assert link.is_guardian and link.permissions.forms and not link.permissions.payments
    assert link.contact.client is None
    assert added.headers["Location"].endswith(f"{url}/contacts")  # back to the hub's Contacts tab
    page = client.get(f"{url}/contacts").get_data(as_text=True)
    assert "Jo Rivera" in page and "mother" in page
    person = {
        "contact.first_name": "Jo",
        "contact.last_name": "Rivera-Lane",
        "contact.email": "jo@example.org",
    }
    assert (
        client.post(
            f"/staff/contact-links/{link.id}",
            data=_form(csrf, relationship="parent", perm_payments="on", **person),
        ).status_code
        == 303
    )
    link.reload()
    assert link.relationship == "parent" and link.permissions.payments and not link.is_guardian
    assert link.contact.last_name == "Rivera-Lane"
    bad = client.post(
        f"/staff/contact-links/{link.id}",
        data=_form(csrf, relationship="parent", **{**person, "contact.last_name": ""}),
    )
    assert bad.status_code == 422 and 'id="contact.last_name-error"' in bad.get_data(as_text=True)
    assert client.post(f"/staff/contact-links/{link.id}/delete", data=_form(csrf)).status_code == 303
    assert ContactLink.objects.count() == 0


def test_client_page_says_when_contact_network_is_off(client):
    """Does the client page say the contact network is off instead of showing the form?"""
    org = Organization.get()
    org.portal.contact_network_enabled = False
    org.save()
    desk = make_staff(roles=("front_desk",))
    login_as(client, desk.email)
    html = client.get(f"/staff/clients/{make_client().id}/contacts").get_data(as_text=True)
    assert "turned off" in html and "Add a contact" not in html


def test_admin_creates_edits_and_disables_staff_through_pages(client):
    """Can an admin add a member, change roles, grants and preferences, and disable them; a therapist cannot?"""
    org = Organization.get()
    org.locations = [Location(key="tele", name="Telehealth", telehealth=True)]
    org.save()
    admin = make_staff(roles=("org_admin",))
    csrf = login_as(client, admin.email)
    page = client.get("/admin/staff").get_data(as_text=True)
    assert "<h1>Staff</h1>" in page and admin.email in page
    made = client.post(
        "/admin/staff",
        data=_form(csrf, first_name="Lee", last_name="Park", email="lee@example.org", roles="therapist"),
    )
    assert made.status_code == 303
    member = StaffMember.objects.get(email="lee@example.org")
    edit = client.get(made.headers["Location"]).get_data(as_text=True)
    assert 'for="locations-tele"' in edit and "Disable account" in edit
    saved = client.post(
        f"/admin/staff/{member.id}",
        data=_form(
            csrf,
            first_name="Lee",
            last_name="Park",
            email="lee@example.org",
            roles=["front_desk"],
            permissions=["audit.view"],
            locations=["tele"],
            notify_digest="weekly",
        ),
    )
    assert saved.status_code == 303
    member.reload()
    assert member.roles == ["front_desk"] and member.permissions == ["audit.view"]
    assert member.preferences.locations == ["tele"] and member.preferences.notify_new_task is False
    bad = client.post(
        f"/admin/staff/{member.id}",
        data=_form(csrf, first_name="Lee", last_name="Park", email="lee@example.org", locations=["moon"]),
    )
    assert bad.status_code == 422 and 'id="preferences.locations-error"' in bad.get_data(as_text=True)
    assert client.post(f"/admin/staff/{member.id}/status", data=_form(csrf, disabled="1")).status_code == 303
    assert StaffMember.objects.get(id=member.id).disabled
    other = make_staff(roles=("therapist",))
    client.post("/logout", data=_form(csrf))
    login_as(client, other.email)
    assert client.get("/admin/staff").status_code == 403


def test_admin_adds_portal_invite_to_default_permissions_page(client):
    """Does ticking portal.invite on the default permissions page give it to a therapist?"""
    admin = make_staff(roles=("org_admin",))
    therapist = make_staff(roles=("therapist",))
    csrf = login_as(client, admin.email)
    page = client.get("/admin/permissions").get_data(as_text=True)
    assert "Can invite clients to the client portal" in page  # titles from authz.PERMISSIONS
    assert "portal.invite" not in staff_actor(therapist).permissions
    resp = client.post("/admin/permissions", data=_form(csrf, permissions=["portal.invite"]))
    assert resp.status_code == 303
    assert "portal.invite" in staff_actor(therapist).permissions
    assert re.search(
        r'value="portal.invite" checked', client.get("/admin/permissions").get_data(as_text=True)
    )


def test_guardian_portal_lists_both_minors_and_switches_between_them(client):
    """Does a guardian's portal home list both minors and switch the active profile with the form?"""
    sam = make_client(first_name="Sam", last_name="Rivera", date_of_birth=date(2012, 1, 1))
    ivy = make_client(first_name="Ivy", last_name="Rivera", date_of_birth=date(2017, 1, 1))
    contact = Contact(first_name="Jo", last_name="Rivera", email="jo@example.org")
    contact.save()
    for minor in (sam, ivy):
        ContactLink(
            contact=contact,
            client=minor,
            relationship="mother",
            is_guardian=True,
            permissions=LinkPermissions(forms=True),
        ).save()
    account = make_portal_account(contact=contact)
    csrf = login_as(client, account.email)
    html = client.get("/portal").get_data(as_text=True)
    first = re.search(r"<h1>(.*?)</h1>", html).group(1)
    assert f'value="{sam.id}"' in html and f'value="{ivy.id}"' in html
    target = ivy if first == "Sam Rivera" else sam
    assert client.post("/portal/profile", data=_form(csrf, client_id=str(target.id))).status_code == 303
    html = client.get("/portal").get_data(as_text=True)
    assert f"<h1>{target.display_name}</h1>" in html
    stranger = make_client()
    client.post("/portal/profile", data=_form(csrf, client_id=str(stranger.id)))
    html = client.get("/portal").get_data(as_text=True)
    assert f"<h1>{target.display_name}</h1>" in html and "not available" in html


def test_portal_settings_page_saves_and_shows_errors_beside_fields(client):
    """Does the portal settings page save a new cadence, picked as a number and a unit, and show a bad one
    beside its field as typed, changing nothing?"""
    admin = make_staff(roles=("org_admin",))
    csrf = login_as(client, admin.email)
    page = client.get("/admin/portal").get_data(as_text=True)
    # issue 16: the cadence is a number and a unit ("3 days"), no longer an ISO-8601 text field ("P3D")
    assert (
        'name="reminder_cadence_count" type="number" min="1" inputmode="numeric" size="4" value="3"' in page
    )
    assert '<option value="days" selected>days</option>' in page and "P3D" not in page
    assert 'id="contact_network_enabled" name="contact_network_enabled" checked' in page
    base = {
        "reminder_max": "4",
        "age_of_majority": "18",
        "cancellation_window_hours": "24",
        "guardian_approval_rule": "every",
        "late_cancellation": "refuse",
        "guardian_approval_timeout_count": "1",
        "guardian_approval_timeout_unit": "weeks",
        "enabled": "on",
    }
    saved = client.post(
        "/admin/portal", data=_form(csrf, reminder_cadence_count="12", reminder_cadence_unit="hours", **base)
    )
    assert saved.status_code == 303
    portal = Organization.get().portal
    assert portal.reminder_cadence == "PT12H" and portal.guardian_approval_timeout == "P1W"
    assert portal.guardian_approval_rule == "every"
    assert portal.contact_network_enabled is False  # unticked checkbox
    bad = client.post(
        "/admin/portal",
        data=_form(csrf, reminder_cadence_count="a few", reminder_cadence_unit="days", **base),
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="reminder_cadence-error"' in html
    assert "whole number of hours, days or weeks" in html and 'value="a few"' in html and "ISO" not in html
    assert Organization.get().portal.reminder_cadence == "PT12H"


def test_profile_switch_with_a_bearer_token_is_a_clear_400(client):
    """Does a bearer-token caller posting to the switcher get a 400 rather than a server error?"""
    account = make_portal_account(client=make_client())
    resp = client.post(
        "/portal/profile",
        data={"client_id": str(account.client.id)},
        headers={**api_login(client, account.email), "Accept": "application/json"},
    )
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "bad_request"
