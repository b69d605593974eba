"""Who a request acts as is read afresh on every request: revocation, disabling, permission and
settings changes count from the very next request, even when they bypass the services (another
process, a database shell). The organization is kept only within one request."""

from __future__ import annotations

from engine.models.accounts import AuthSession, PortalAccount, StaffMember
from engine.models.organization import Organization
from engine.services.accounts import tokens
from tests.helpers import api_login, login_as, make_client, make_portal_account, make_staff

SETTINGS = "/api/v1/settings/portal"
DEFAULTS = "/api/v1/settings/default-permissions"


def _admin(client) -> dict:
    return api_login(client, make_staff(roles=("org_admin",)).email)


def test_revoked_token_is_refused_on_the_next_request(client):
    """Is a bearer token that worked a moment ago refused (401) on the request right after its revocation?"""
    staff = make_staff()
    headers = api_login(client, staff.email)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert tokens.revoke_token(headers["Authorization"].split()[1])
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_disabled_in_the_database_is_refused_on_the_next_request(app):
    """Is a staff member disabled behind the services' back (no token revoked, no session deleted)
    refused on the next request, by bearer token and by cookie session alike?"""
    staff = make_staff()
    api, browser = app.test_client(), app.test_client()
    headers = api_login(api, staff.email)
    csrf = login_as(browser, staff.email)
    assert api.get("/api/v1/me", headers=headers).status_code == 200
    assert browser.get("/api/v1/me", headers=csrf).status_code == 200
    StaffMember.objects(id=staff.id).update_one(set__disabled=True)
    assert api.get("/api/v1/me", headers=headers).status_code == 401
    assert browser.get("/api/v1/me", headers=csrf).status_code == 401


def test_disabled_portal_account_is_refused_on_the_next_request(client):
    """Is a portal account's token refused on the request after the account is disabled?"""
    account = make_portal_account(client=make_client(email="fresh@example.org"))
    headers = api_login(client, account.email)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    PortalAccount.objects(id=account.id).update_one(set__disabled=True)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_deleted_session_is_refused_on_the_next_request(client):
    """Is a cookie session whose row is deleted elsewhere (logout on another device) refused at once?"""
    staff = make_staff()
    csrf = login_as(client, staff.email)
    assert client.get("/api/v1/me", headers=csrf).status_code == 200
    AuthSession.objects(account_id=staff.id).delete()
    assert client.get("/api/v1/me", headers=csrf).status_code == 401


def test_a_removed_grant_is_refused_on_the_next_request(app):
    """Does taking an explicit permission away refuse the very next request that needs it (403)?"""
    admin, member = app.test_client(), app.test_client()
    admin_headers = _admin(admin)
    therapist = make_staff(roles=("therapist",), permissions=["portal.settings"])
    headers = api_login(member, therapist.email)
    assert member.get(SETTINGS, headers=headers).status_code == 200
    resp = admin.patch(f"/api/v1/staff/{therapist.id}", json={"permissions": []}, headers=admin_headers)
    assert resp.status_code == 200
    assert member.get(SETTINGS, headers=headers).status_code == 403
    StaffMember.objects(id=therapist.id).update_one(
        set__roles=["org_admin"]
    )  # and back, behind the API's back
    assert member.get(SETTINGS, headers=headers).status_code == 200


def test_default_set_changes_count_on_the_next_request(app):
    """Does a change of the organization's default permission set reach the next request of another
    staff member, and does the request that made it answer with the new set?"""
    admin, member = app.test_client(), app.test_client()
    admin_headers = _admin(admin)
    headers = api_login(member, make_staff(roles=("therapist",)).email)
    assert member.get(SETTINGS, headers=headers).status_code == 403
    resp = admin.put(DEFAULTS, json={"permissions": ["portal.settings"]}, headers=admin_headers)
    assert resp.status_code == 200 and resp.get_json()["permissions"] == ["portal.settings"]
    assert member.get(SETTINGS, headers=headers).status_code == 200
    assert "portal.settings" in member.get("/api/v1/me", headers=headers).get_json()["permissions"]
    Organization.objects.update_one(set__default_permissions=[])  # another process, say
    assert member.get(SETTINGS, headers=headers).status_code == 403


def test_settings_written_elsewhere_are_read_by_the_next_request(client):
    """Does a request see portal settings written between it and the previous request (no cache across requests)?"""
    headers = _admin(client)
    resp = client.put(SETTINGS, json={"reminder_max": 7}, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["reminder_max"] == 7
    assert client.get(SETTINGS, headers=headers).get_json()["reminder_max"] == 7
    Organization.objects.update_one(set__portal__reminder_max=9)
    assert client.get(SETTINGS, headers=headers).get_json()["reminder_max"] == 9


def test_two_writes_in_a_row_do_not_trip_over_a_kept_organization(client):
    """Do consecutive settings writes each succeed (none answers 409 from a version kept too long)?"""
    headers = _admin(client)
    for n in (4, 5, 6):
        resp = client.put(SETTINGS, json={"reminder_max": n}, headers=headers)
        assert resp.status_code == 200, resp.get_json()
    assert Organization.get().portal.reminder_max == 6


def test_the_request_scope_ends_with_the_request(client):
    """After a request has ended, does code outside any request read the organization afresh?"""
    headers = _admin(client)
    assert client.get(SETTINGS, headers=headers).status_code == 200
    Organization.objects.update_one(set__name="Renamed Practice")
    assert Organization.get().name == "Renamed Practice"
