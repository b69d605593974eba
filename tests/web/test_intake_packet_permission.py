"""Saving the default intake packet needs the intake forms permission alone (issue 15)."""

from __future__ import annotations

from engine.models.organization import Organization
from tests.helpers import login_as, make_staff

PACKET = ["phq9", "gad7"]


def test_intake_forms_right_alone_saves_the_packet(client, installed):  # noqa: F811
    """Can a therapist granted only "Create and edit intake forms and the default packet" (not the portal
    settings) read and save the default packet, while the other portal settings stay closed to them?"""
    editor = make_staff(roles=("therapist",), permissions=["intake_forms.manage"])
    headers = login_as(client, editor.email)
    assert client.get("/api/v1/settings/intake-packet", headers=headers).status_code == 200
    saved = client.put("/api/v1/settings/intake-packet", json={"intake_packet": PACKET}, headers=headers)
    assert saved.status_code == 200, saved.get_json()
    assert list(Organization.get().portal.intake_packet) == PACKET
    assert client.put("/api/v1/settings/portal", json={"reminder_max": 1}, headers=headers).status_code == 403
    assert client.get("/studio/packet").status_code == 200


def test_packet_needs_the_intake_forms_right_and_checks_its_keys(client, installed):  # noqa: F811
    """Is a therapist without the intake forms right refused, by the permission's title, and is a packet
    naming an unknown form refused with nothing saved?"""
    before = list(Organization.get().portal.intake_packet)
    therapist = make_staff(roles=("therapist",))
    headers = login_as(client, therapist.email)
    refused = client.put("/api/v1/settings/intake-packet", json={"intake_packet": PACKET}, headers=headers)
    assert refused.status_code == 403
    assert (
        refused.get_json()["error"]["details"]["permission_title"]
        == "Create and edit intake forms and the default packet"
    )
    editor = make_staff(roles=("therapist",), permissions=["intake_forms.manage"])
    other = client.application.test_client()
    wrong = other.put(
        "/api/v1/settings/intake-packet",
        json={"intake_packet": ["phq9", "no_such_form"]},
        headers=login_as(other, editor.email),
    )
    assert wrong.status_code == 422 and "intake_packet" in wrong.get_json()["error"]["details"]
    assert list(Organization.get().portal.intake_packet) == before


def test_general_documents_names_the_missing_portal_permissions(client):
    """Where front desk staff lack the two portal permissions (not granted by default), does the General
    Documents page name each by its title instead of the missing controls, and show the controls once
    an administrator adds them to Default Permissions?"""
    from tests.helpers import make_client

    desk = make_staff(roles=("front_desk",))
    ada = make_client(first_name="Ada")
    login_as(client, desk.email)
    page = client.get(f"/staff/clients/{ada.id}/documents").get_data(as_text=True)
    assert "ask your administrator for the permission “Upload Client General Documents”" in page
    assert (
        "ask your administrator for the permission “Can invite clients to the client portal and manage "
        "intake forms”" in page
    )
    assert "Send invitation" not in page and 'type="file"' not in page
    assert "portal.invite" not in page and "client_documents.upload" not in page
    org = Organization.get()
    org.default_permissions = ["portal.invite", "client_documents.upload"]
    org.save()
    page = client.get(f"/staff/clients/{ada.id}/documents").get_data(as_text=True)
    assert "Send invitation" in page and 'type="file"' in page and "ask your administrator" not in page
