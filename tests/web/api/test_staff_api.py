"""API: staff management and organization settings."""

from __future__ import annotations

import pytest

from tests.helpers import api_login, make_staff


@pytest.fixture()
def admin_headers(client):
    admin = make_staff(roles=("org_admin",))
    return api_login(client, admin.email)


def test_therapist_gains_portal_invite_when_admin_adds_it_to_default_permissions(client, admin_headers):
    """Does a therapist have dynamic_forms.manage and client_documents.upload but not portal.invite,
    until an admin adds portal.invite to the default permissions through the API?"""
    therapist = make_staff(roles=("therapist",))
    headers = api_login(client, therapist.email)
    perms = set(client.get("/api/v1/me", headers=headers).get_json()["permissions"])
    assert {"dynamic_forms.manage", "client_documents.upload"} <= perms
    assert "portal.invite" not in perms
    assert (
        client.put(
            "/api/v1/settings/default-permissions", json={"permissions": ["portal.invite"]}, headers=headers
        ).status_code
        == 403
    )
    resp = client.put(
        "/api/v1/settings/default-permissions", json={"permissions": ["portal.invite"]}, headers=admin_headers
    )
    assert resp.status_code == 200 and resp.get_json()["permissions"] == ["portal.invite"]
    assert "portal.invite" in client.get("/api/v1/me", headers=headers).get_json()["permissions"]
    bad = client.put(
        "/api/v1/settings/default-permissions", json={"permissions": ["nope"]}, headers=admin_headers
    )
    assert bad.status_code == 422 and "permissions" in bad.get_json()["error"]["details"]


def test_create_list_edit_and_disable_staff(client, admin_headers):
    """Can an admin create, list, edit and disable a member, whose token then stops working?"""
    body = {
        "first_name": "Lee",
        "last_name": "Park",
        "email": "lee@example.org",
        "roles": ["front_desk"],
        "password": "a long enough password",
    }
    created = client.post("/api/v1/staff", json=body, headers=admin_headers)
    assert created.status_code == 201, created.get_json()
    member = created.get_json()
    assert "password" not in member and "clients.view_all" in member["effective_permissions"]
    assert client.post("/api/v1/staff", json=body, headers=admin_headers).status_code == 409
    listed = client.get("/api/v1/staff", headers=admin_headers).get_json()["items"]
    assert "lee@example.org" in [m["email"] for m in listed]
    member_headers = api_login(client, "lee@example.org", "a long enough password")
    assert client.get("/api/v1/staff", headers=member_headers).status_code == 403
    edited = client.patch(
        f"/api/v1/staff/{member['id']}", json={"permissions": ["audit.view"]}, headers=admin_headers
    )
    assert edited.get_json()["permissions"] == ["audit.view"]
    disabled = client.patch(f"/api/v1/staff/{member['id']}", json={"disabled": True}, headers=admin_headers)
    assert disabled.status_code == 200 and disabled.get_json()["disabled"] is True
    assert client.get("/api/v1/me", headers=member_headers).status_code == 401


def test_bad_staff_input_answers_422_with_fields(client, admin_headers):
    """Do wrong types and unknown roles answer 422 naming the fields, and unknown ids 404?"""
    resp = client.post(
        "/api/v1/staff",
        json={
            "first_name": "A",
            "last_name": "B",
            "email": "a@example.org",
            "roles": ["wizard"],
            "preferences": {"locations": ["moon"]},
        },
        headers=admin_headers,
    )
    assert resp.status_code == 422
    assert {"roles", "preferences.locations"} <= set(resp.get_json()["error"]["details"])
    resp = client.post("/api/v1/staff", json={"first_name": 3}, headers=admin_headers)
    assert resp.status_code == 422 and "first_name" in resp.get_json()["error"]["details"]
    assert client.patch("/api/v1/staff/zzz", json={}, headers=admin_headers).status_code == 404


def test_portal_settings_round_trip_and_validation(client, admin_headers):
    """Can an admin read and change the portal settings, and is a bad cadence refused with its field?"""
    got = client.get("/api/v1/settings/portal", headers=admin_headers).get_json()
    assert got["reminder_cadence"] == "P3D" and got["contact_network_enabled"] is True
    put = client.put(
        "/api/v1/settings/portal",
        json={"reminder_cadence": "PT6H", "age_of_majority": 19},
        headers=admin_headers,
    )
    assert put.status_code == 200 and put.get_json()["reminder_cadence"] == "PT6H"
    bad = client.put("/api/v1/settings/portal", json={"reminder_cadence": "soon"}, headers=admin_headers)
    assert bad.status_code == 422 and "reminder_cadence" in bad.get_json()["error"]["details"]
    therapist = api_login(client, make_staff(roles=("therapist",)).email)
    assert client.get("/api/v1/settings/portal", headers=therapist).status_code == 403


def test_openapi_describes_people_endpoints(client):
    """Does the OpenAPI document list the staff, settings, client and contact-link paths?"""
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/staff",
        "/api/v1/staff/{staff_id}",
        "/api/v1/settings/default-permissions",
        "/api/v1/settings/portal",
        "/api/v1/clients",
        "/api/v1/clients/{client_id}",
        "/api/v1/clients/{client_id}/contacts",
        "/api/v1/contact-links/{link_id}",
    ):
        assert path in paths, path
