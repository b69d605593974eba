"""TOTP MFA: setup, login with a code, each code accepted once; required where the policy says so."""

from __future__ import annotations

import re

import pyotp

from engine import config as config_mod
from engine.models.accounts import PortalAccount
from engine.models.audit import AuditEvent
from engine.models.organization import Organization
from tests.helpers import (
    PASSWORD,
    csrf_token,
    enable_mfa,
    login_as,
    make_client,
    make_portal_account,
    make_staff,
    totp_code,
    wrong_totp_code,
)


def _token(client, email, totp=None):
    body = {"email": email, "password": PASSWORD}
    if totp is not None:
        body["totp"] = totp
    return client.post("/api/v1/auth/token", json=body)


def test_token_needs_a_code_when_mfa_is_on(client):
    """Does an MFA account get mfa_required without a code, mfa_invalid with a wrong one, a token with a right one?"""
    staff = make_staff()
    secret = enable_mfa(staff)
    assert _token(client, staff.email).get_json()["error"]["code"] == "mfa_required"
    wrong = _token(client, staff.email, wrong_totp_code(secret))
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "mfa_invalid"
    assert _token(client, staff.email, totp_code(secret)).status_code == 200


def test_reused_totp_code_is_refused(client):
    """Is a TOTP code that already logged in once refused the second time, and an older one too?"""
    staff = make_staff()
    secret = enable_mfa(staff)
    earlier, code = totp_code(secret), totp_code(secret, steps_ahead=1)
    assert _token(client, staff.email, code).status_code == 200
    again = _token(client, staff.email, code)
    assert again.status_code == 401 and again.get_json()["error"]["code"] == "mfa_invalid"
    if earlier != code:
        assert _token(client, staff.email, earlier).status_code == 401


def test_page_login_with_mfa_waits_for_the_code(client):
    """Does the password step alone authenticate nothing, and the code step finish the login?"""
    staff = make_staff()
    secret = enable_mfa(staff)
    resp = client.post(
        "/login", data={"email": staff.email, "password": PASSWORD, "csrf_token": csrf_token(client)}
    )
    assert resp.headers["Location"] == "/mfa/verify"
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/account/password").headers["Location"] == "/mfa/verify"
    token = csrf_token(client, "/mfa/verify")
    bad = client.post("/mfa/verify", data={"code": "12345x", "csrf_token": token})
    assert bad.status_code == 401 and 'role="alert"' in bad.get_data(as_text=True)
    code = totp_code(secret)
    assert client.post("/mfa/verify", data={"code": code, "csrf_token": token}).status_code == 302
    assert client.get("/api/v1/me").status_code == 200
    # The same code cannot finish a second login.
    second = client.application.test_client()
    second.post("/login", data={"email": staff.email, "password": PASSWORD, "csrf_token": csrf_token(second)})
    reused = second.post("/mfa/verify", data={"code": code, "csrf_token": csrf_token(second, "/mfa/verify")})
    assert reused.status_code == 401


def test_setup_page_turns_mfa_on(client):
    """Can a portal user set up MFA from the page, with the secret stored encrypted and an audit row?"""
    account = make_portal_account(client=make_client())
    csrf = login_as(client, account.email)
    html = client.get("/mfa/setup").get_data(as_text=True)
    secret = re.search(r'<code class="secret"[^>]*>([A-Z2-7]+)</code>', html).group(1)
    assert "otpauth://totp/" in html
    assert client.post("/mfa/setup", data={"code": wrong_totp_code(secret)}, headers=csrf).status_code == 400
    assert not PortalAccount.objects.get(id=account.id).mfa_enabled
    assert client.post("/mfa/setup", data={"code": pyotp.TOTP(secret).now()}, headers=csrf).status_code == 302
    account.reload()
    assert account.mfa_enabled and secret not in account.totp_secret
    assert AuditEvent.objects(action="mfa_enabled", actor_id=str(account.id)).count() == 1
    assert (
        _token(client.application.test_client(), account.email).get_json()["error"]["code"] == "mfa_required"
    )


def test_portal_mfa_required_by_org_setting(client):
    """When the org requires MFA for the portal, is a portal login sent to setup and its token refused until then?"""
    org = Organization.get()
    org.portal.require_mfa_for_portal = True
    org.save()
    account = make_portal_account(client=make_client())
    resp = client.post(
        "/login", data={"email": account.email, "password": PASSWORD, "csrf_token": csrf_token(client)}
    )
    assert resp.headers["Location"] == "/mfa/setup"
    assert client.get("/api/v1/me").status_code == 401
    html = client.get("/mfa/setup").get_data(as_text=True)
    secret = re.search(r'<code class="secret"[^>]*>([A-Z2-7]+)</code>', html).group(1)
    token = csrf_token(client, "/mfa/setup")
    assert (
        client.post("/mfa/setup", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token}).status_code
        == 302
    )
    assert client.get("/api/v1/me").status_code == 200
    assert PortalAccount.objects.get(id=account.id).mfa_enabled
    other = make_portal_account(client=make_client())
    assert (
        _token(client.application.test_client(), other.email).get_json()["error"]["code"]
        == "mfa_setup_required"
    )


def test_production_staff_without_mfa_go_to_setup(settings, clean_db):
    """In production, is a staff member without MFA sent to MFA setup after the password?"""
    from web.app import create_app

    app = create_app(settings.with_(env="production"))
    try:
        client = app.test_client()
        client.application.config["TESTING"] = True
        staff = make_staff()
        base = "https://localhost"  # production cookies are Secure
        page = client.get(f"{base}/login").get_data(as_text=True)
        token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
        resp = client.post(
            f"{base}/login",
            data={"email": staff.email, "password": PASSWORD, "csrf_token": token},
            headers={"Referer": f"{base}/login"},
        )
        assert resp.headers["Location"] == "/mfa/setup"
        assert client.get(f"{base}/api/v1/me").status_code == 401
    finally:
        config_mod.install(settings)


def test_wrong_codes_on_the_verify_page_are_throttled(client):
    """Is the 6th wrong one-time code within a minute answered 429?"""
    staff = make_staff()
    secret = enable_mfa(staff)
    client.post("/login", data={"email": staff.email, "password": PASSWORD, "csrf_token": csrf_token(client)})
    token = csrf_token(client, "/mfa/verify")
    codes = [
        client.post("/mfa/verify", data={"code": wrong_totp_code(secret), "csrf_token": token}).status_code
        for _ in range(6)
    ]
    assert codes == [401] * 5 + [429]


def test_portal_user_can_turn_optional_mfa_off_with_a_code(client):
    """Can a portal user turn optional MFA off with a current code, but not with a wrong one?"""
    account = make_portal_account(client=make_client())
    secret = enable_mfa(account)
    csrf = login_as(client, account.email, totp=totp_code(secret))
    assert "Turn off two-factor" in client.get("/account/password").get_data(as_text=True)
    wrong = client.post("/mfa/disable", data={"code": wrong_totp_code(secret)}, headers=csrf)
    assert wrong.status_code == 422 and PortalAccount.objects.get(id=account.id).mfa_enabled
    ok = client.post("/mfa/disable", data={"code": totp_code(secret, 1)}, headers=csrf)
    assert ok.status_code == 302 and not PortalAccount.objects.get(id=account.id).mfa_enabled


def test_mfa_cannot_be_turned_off_where_policy_requires_it(client):
    """When the org requires portal MFA, is turning it off refused (403) and MFA left on?"""
    account = make_portal_account(client=make_client())
    secret = enable_mfa(account)
    csrf = login_as(client, account.email, totp=totp_code(secret))
    org = Organization.get()
    org.portal.require_mfa_for_portal = True
    org.save()
    resp = client.post("/mfa/disable", data={"code": totp_code(secret, 1)}, headers=csrf)
    assert resp.status_code == 403 and PortalAccount.objects.get(id=account.id).mfa_enabled
