"""Bearer tokens, GET /me, logout, password change and disabled accounts through the API."""

from __future__ import annotations

from datetime import timedelta

from engine.models import utcnow
from engine.models.accounts import ApiToken, StaffMember
from tests.helpers import PASSWORD, api_login, make_client, make_portal_account, make_staff


def test_token_then_me_for_staff(client):
    """Does a staff member get a token and see who they are with their effective permissions?"""
    staff = make_staff(roles=("therapist",))
    resp = client.post("/api/v1/auth/token", json={"email": staff.email.upper(), "password": PASSWORD})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["token"] and body["expires_at"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"}).get_json()
    assert me["kind"] == "staff" and me["email"] == staff.email and me["id"] == str(staff.id)
    assert "dynamic_forms.manage" in me["permissions"] and "portal.invite" not in me["permissions"]
    assert me["profiles"] == []


def test_token_is_stored_hashed(client):
    """Is the bearer token kept only as its hash?"""
    staff = make_staff()
    token = api_login(client, staff.email)["Authorization"].split()[1]
    row = ApiToken.objects.get(account_id=staff.id)
    assert token not in row.token_hash and len(row.token_hash) == 64


def test_me_for_portal_lists_profiles(client):
    """Does a portal account see its own client profile as the active one?"""
    person = make_client(email="adult@example.org")
    account = make_portal_account(client=person)
    me = client.get("/api/v1/me", headers=api_login(client, account.email)).get_json()
    assert me["kind"] == "portal"
    assert [p["client_id"] for p in me["profiles"]] == [str(person.id)]
    assert me["profiles"][0]["relationship"] == "self"
    assert me["active_profile_id"] == str(person.id)


def test_unknown_user_and_wrong_password_look_the_same(client):
    """Do an unknown e-mail and a wrong password get the same status, code and message?"""
    staff = make_staff()
    unknown = client.post("/api/v1/auth/token", json={"email": "nobody@example.org", "password": PASSWORD})
    wrong = client.post("/api/v1/auth/token", json={"email": staff.email, "password": "wrong password!"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.get_json() == wrong.get_json()
    assert wrong.get_json()["error"]["code"] == "invalid_credentials"


def test_disabled_account_is_refused(client):
    """Is a disabled account refused at login, and are its live tokens refused too?"""
    staff = make_staff()
    headers = api_login(client, staff.email)
    StaffMember.objects(id=staff.id).update_one(set__disabled=True)
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    resp = client.post("/api/v1/auth/token", json={"email": staff.email, "password": PASSWORD})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "invalid_credentials"


def test_expired_token_is_refused(client):
    """Is a token past its expiry refused?"""
    staff = make_staff()
    headers = api_login(client, staff.email)
    ApiToken.objects(account_id=staff.id).update(set__expires_at=utcnow() - timedelta(seconds=1))
    resp = client.get("/api/v1/me", headers=headers)
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "not_authenticated"


def test_logout_revokes_the_token(client):
    """Does POST /auth/logout end the bearer token it came with?"""
    staff = make_staff()
    headers = api_login(client, staff.email)
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_garbage_bearer_is_401_not_500(client):
    """Does a malformed bearer token answer 401 with the error shape?"""
    resp = client.get("/api/v1/me", headers={"Authorization": "Bearer \x00nonsense"})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "not_authenticated"


def test_missing_fields_are_422(client):
    """Does a token request without a password name the missing field?"""
    resp = client.post("/api/v1/auth/token", json={"email": "a@example.org"})
    assert resp.status_code == 422
    assert "password" in resp.get_json()["error"]["details"]
