"""Every contact can have a login (issue 15): staff invite a contact with any right on a client's profile;
the contact activates, is signed in, and sees only what the link's rights allow."""

from __future__ import annotations

import re

from engine.models.clients import Contact, ContactLink, LinkPermissions
from engine.models.mail import MailMessage
from engine.models.organization import Organization
from engine.services.messaging import mail
from tests.helpers import csrf_token, login_as, make_client, make_staff

CHOSEN = "a long portal password 42"
_LINK = re.compile(r"/portal/activate\?token=([A-Za-z0-9_\-]+)")


def _network(rights: LinkPermissions, email="uncle@example.org"):
    therapist = make_staff(roles=("therapist",))
    client = make_client(first_name="Theo", last_name="Young", assigned_staff=[therapist.id])
    contact = Contact(first_name="Umberto", last_name="Uncle", email=email).save()
    link = ContactLink(contact=contact, client=client, relationship="uncle", permissions=rights).save()
    return therapist, client, link


def _allow_invites():
    """What an administrator does by hand: add the portal invite permission to Default Permissions."""
    org = Organization.get()
    org.default_permissions = ["portal.invite"]
    org.save()


def _activation_token(address: str) -> str:
    [received] = MailMessage.objects(direction="sink", to=address)
    [token] = _LINK.findall(received.text)
    return token


def test_contact_with_messages_right_is_invited_and_sees_only_messages(client, app):
    """Can staff invite a contact who may only message for a client, who then activates, is signed in,
    and reaches the client's messages but not their forms, bills, appointments or record details?"""
    therapist, theo, link = _network(LinkPermissions(messages=True))
    _allow_invites()
    staff = login_as(client, therapist.email)
    sent = client.post(f"/api/v1/contact-links/{link.id}/portal-invite", headers=staff)
    assert sent.status_code == 202, sent.get_json()
    assert sent.get_json() == {"email": "uncle@example.org", "status": "invited"}
    queued = MailMessage.objects.get(direction="out")
    assert queued.status == "queued"  # recorded in the request; a worker sends it
    assert "Theo" not in queued.text and "Young" not in queued.text  # no client name in the mail
    mail.deliver(queued.id)  # what the worker's send_mail does
    token = _activation_token("uncle@example.org")

    uncle = app.test_client()
    page = f"/portal/activate?token={token}"
    done = uncle.post(
        "/portal/activate",
        data={"token": token, "password": CHOSEN, "confirm": CHOSEN, "csrf_token": csrf_token(uncle, page)},
    )
    assert done.status_code == 303
    me = uncle.get("/api/v1/me").get_json()
    assert [p["name"] for p in me["profiles"]] == ["Theo Young"]
    assert me["profiles"][0]["permissions"] == {
        "forms": False,
        "appointments": False,
        "payments": False,
        "messages": True,
    }
    assert uncle.get("/portal/messages").status_code == 200
    for denied in ("/portal/tasks", "/portal/billing", "/portal/appointments", "/portal/documents"):
        assert uncle.get(denied).status_code == 404, denied
    record = uncle.get(f"/api/v1/clients/{theo.id}").get_json()
    assert record.get("date_of_birth") is None and record.get("email") in (None, "")

    listed = client.get(f"/api/v1/clients/{theo.id}/contacts", headers=staff).get_json()
    assert listed["items"][0]["contact"]["portal_login"] == "active"
    again = client.post(f"/api/v1/contact-links/{link.id}/portal-invite", headers=staff)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_active"


def test_a_contact_without_rights_is_not_invited(client):
    """Is a contact whose link gives no right refused an invitation, with nothing mailed?"""
    therapist, _theo, link = _network(LinkPermissions())
    _allow_invites()
    staff = login_as(client, therapist.email)
    refused = client.post(f"/api/v1/contact-links/{link.id}/portal-invite", headers=staff)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "no_rights"
    assert MailMessage.objects.count() == 0


def test_without_the_invite_permission_the_page_names_it(client):
    """Without the portal invite permission (not granted by default), is the invite refused, and does the
    client page name the permission to ask for by its title, never its code?"""
    therapist, theo, link = _network(LinkPermissions(appointments=True))
    staff = login_as(client, therapist.email)
    refused = client.post(f"/api/v1/contact-links/{link.id}/portal-invite", headers=staff)
    assert refused.status_code == 403
    assert (
        refused.get_json()["error"]["details"]["permission_title"]
        == "Can invite clients to the client portal and manage intake forms"
    )
    page = client.get(f"/staff/clients/{theo.id}/contacts").get_data(as_text=True)
    assert (
        "ask your administrator for the permission “Can invite clients to the client portal and manage "
        "intake forms”" in page
    )
    assert "portal.invite" not in page and "Invite to the portal" not in page
    _allow_invites()
    page = client.get(f"/staff/clients/{theo.id}/contacts").get_data(as_text=True)
    assert "Invite to the portal" in page and "ask your administrator" not in page


def test_a_contact_without_an_address_is_told_what_is_missing(client):
    """Is inviting a contact who has no e-mail address refused with the field named, and nothing made?"""
    therapist, _theo, link = _network(LinkPermissions(payments=True), email=None)
    _allow_invites()
    staff = login_as(client, therapist.email)
    refused = client.post(f"/api/v1/contact-links/{link.id}/portal-invite", headers=staff)
    assert refused.status_code == 422 and "email" in refused.get_json()["error"]["details"]
    assert MailMessage.objects.count() == 0 and Contact.objects.get(id=link.contact.id).portal_account is None
