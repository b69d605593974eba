"""API: clients and the contact network."""

from __future__ import annotations

from datetime import date

import pytest

from engine.models.audit import AuditEvent
from engine.models.clients import Contact
from tests.helpers import api_login, make_client, make_portal_account, make_staff


@pytest.fixture()
def desk(client):
    return api_login(client, make_staff(roles=("front_desk",)).email)


def test_create_search_read_and_edit_a_client(client, desk):
    """Can front desk create, find by name, read (audited) and edit a client, with stale edits refused?"""
    made = client.post(
        "/api/v1/clients",
        json={"first_name": "Nora", "last_name": "Quist", "date_of_birth": "1990-05-01"},
        headers=desk,
    )
    assert made.status_code == 201, made.get_json()
    cid = made.get_json()["id"]
    make_client(last_name="Other")
    found = client.get("/api/v1/clients?q=qui&per_page=10", headers=desk).get_json()
    assert [c["id"] for c in found["items"]] == [cid] and found["total"] == 1
    read = client.get(f"/api/v1/clients/{cid}", headers=desk).get_json()
    assert read["date_of_birth"] == "1990-05-01"
    assert AuditEvent.objects(action="client_record_viewed", client_id=cid).count() == 1
    edited = client.patch(f"/api/v1/clients/{cid}", json={"phone": "555-0101", "version": 0}, headers=desk)
    assert edited.status_code == 200 and edited.get_json()["version"] == 1
    stale = client.patch(f"/api/v1/clients/{cid}", json={"phone": "555-0102", "version": 0}, headers=desk)
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "stale_version"
    bad = client.post(
        "/api/v1/clients", json={"first_name": "X", "last_name": "Y", "email": "nope"}, headers=desk
    )
    assert bad.status_code == 422 and "email" in bad.get_json()["error"]["details"]
    assert client.get("/api/v1/clients?per_page=1000", headers=desk).status_code == 422


def test_a_client_asking_for_another_clients_record_gets_404(client):
    """Does a client's portal token read its own record and get 404 for another client's?"""
    own, other = make_client(email="own@example.org"), make_client()
    account = make_portal_account(client=own)
    headers = api_login(client, account.email)
    assert client.get(f"/api/v1/clients/{own.id}", headers=headers).status_code == 200
    resp = client.get(f"/api/v1/clients/{other.id}", headers=headers)
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/clients/not-an-id", headers=headers).status_code == 404
    assert client.get("/api/v1/clients", headers=headers).status_code == 403


def test_therapist_sees_only_assigned_clients(client):
    """Does a therapist get 404 for a client not assigned to them and 403 when creating one?"""
    therapist = make_staff(roles=("therapist",))
    headers = api_login(client, therapist.email)
    mine, theirs = make_client(assigned_staff=[therapist.id]), make_client()
    listed = client.get("/api/v1/clients", headers=headers).get_json()
    assert [c["id"] for c in listed["items"]] == [str(mine.id)]
    assert client.get(f"/api/v1/clients/{theirs.id}", headers=headers).status_code == 404
    assert (
        client.post(
            "/api/v1/clients", json={"first_name": "A", "last_name": "B"}, headers=headers
        ).status_code
        == 403
    )


def test_guardian_who_is_not_a_client_is_linked_to_two_minors_and_lists_both(client, desk):
    """Is a contact who is not a client linked to two minors, and does their account list both in /me?"""
    sam = make_client(first_name="Sam", date_of_birth=date(2012, 6, 1))
    ivy = make_client(first_name="Ivy", date_of_birth=date(2017, 6, 1))
    person = {
        "first_name": "Jo",
        "last_name": "Rivera",
        "email": "jo@example.org",
        "relationship": "mother",
        "is_guardian": True,
        "permissions": {"forms": True, "appointments": True, "payments": True, "messages": True},
    }
    links = [client.post(f"/api/v1/clients/{c.id}/contacts", json=person, headers=desk) for c in (sam, ivy)]
    assert [r.status_code for r in links] == [201, 201]
    contact_ids = {r.get_json()["contact"]["id"] for r in links}
    assert len(contact_ids) == 1 and links[0].get_json()["contact"]["client_id"] is None
    contact = Contact.objects.get(id=contact_ids.pop())
    account = make_portal_account(contact=contact)
    me = client.get("/api/v1/me", headers=api_login(client, account.email)).get_json()
    assert {p["client_id"] for p in me["profiles"]} == {str(sam.id), str(ivy.id)}
    assert all(p["is_guardian"] for p in me["profiles"])
    network = client.get(f"/api/v1/clients/{sam.id}/contacts", headers=desk).get_json()["items"]
    assert [link["relationship"] for link in network] == ["mother"]


def test_link_edit_delete_and_errors(client, desk):
    """Can a link be edited and removed, with bad input 422, duplicates 409 and a disabled network 409?"""
    child, parent = make_client(), make_client()
    url = f"/api/v1/clients/{child.id}/contacts"
    link = client.post(
        url, json={"client_id": str(parent.id), "relationship": "father"}, headers=desk
    ).get_json()
    assert link["contact"]["client_id"] == str(parent.id)
    assert (
        client.post(
            url, json={"client_id": str(parent.id), "relationship": "father"}, headers=desk
        ).status_code
        == 409
    )
    assert client.post(url, json={"first_name": "No"}, headers=desk).status_code == 422
    patched = client.patch(
        f"/api/v1/contact-links/{link['id']}", json={"permissions": {"messages": True}}, headers=desk
    )
    assert patched.status_code == 200 and patched.get_json()["permissions"]["messages"] is True
    assert (
        client.patch(
            f"/api/v1/contact-links/{link['id']}", json={"permissions": {"fly": True}}, headers=desk
        ).status_code
        == 422
    )
    assert client.delete(f"/api/v1/contact-links/{link['id']}", headers=desk).status_code == 204
    assert client.delete(f"/api/v1/contact-links/{link['id']}", headers=desk).status_code == 404
    admin = api_login(client, make_staff(roles=("org_admin",)).email)
    client.put("/api/v1/settings/portal", json={"contact_network_enabled": False}, headers=admin)
    off = client.post(url, json={"first_name": "A", "last_name": "B", "relationship": "aunt"}, headers=desk)
    assert off.status_code == 409 and off.get_json()["error"]["code"] == "contact_network_disabled"
