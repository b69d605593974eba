"""Password recovery (issue 15): a mailed single-use link, 30 minutes, no account enumeration, throttled,
every session ended, MFA still asked; and the client signed in after activation."""

from __future__ import annotations

import re
from datetime import timedelta

from engine.models import utcnow
from engine.models.accounts import AuthSession, PasswordReset
from engine.models.mail import MailMessage
from engine.services.accounts import password_reset
from tests.helpers import (
    PASSWORD,
    api_login,
    csrf_token,
    enable_mfa,
    login_as,
    make_client,
    make_portal_account,
    make_staff,
    totp_code,
)

NEW_PASSWORD = "a brand new password 77"
_TOKEN = re.compile(r"/password/reset\?token=([A-Za-z0-9_\-]+)")


def _ask(client, email):
    return client.post("/api/v1/auth/password-reset", json={"email": email})


def _run_worker():
    """What the workers do: mail every waiting request (the sweep, as after a lost wake-up)."""
    return password_reset.mail_pending(now=utcnow() + timedelta(minutes=2))


def _mailed_token(address: str) -> str:
    """The token in the reset mail `address` received (the development sink keeps what was sent)."""
    [received] = MailMessage.objects(direction="sink", to=address)
    [token] = _TOKEN.findall(received.text)
    return token


def _complete(client, token, password=NEW_PASSWORD):
    return client.post("/api/v1/auth/password-reset/complete", json={"token": token, "password": password})


def test_mailed_link_resets_once_and_ends_every_session(client):
    """Does a forgotten password end with a mailed link that sets a new one once, ending every session
    and API token the account had?"""
    staff = make_staff()
    old_token = api_login(client, staff.email)
    browser = client.application.test_client()
    login_as(browser, staff.email)
    assert AuthSession.objects(account_id=staff.id).count() == 1

    asked = _ask(client, staff.email.upper())
    assert asked.status_code == 202
    assert MailMessage.objects.count() == 0  # nothing is mailed inside the request
    assert _run_worker() == 1
    token = _mailed_token(staff.email)
    sent = MailMessage.objects.get(direction="out")
    assert sent.status == "sent" and token not in sent.text  # our copy keeps no live link

    assert _complete(client, token).status_code == 204
    assert client.get("/api/v1/me", headers=old_token).status_code == 401
    assert browser.get("/api/v1/me").status_code == 401
    assert AuthSession.objects(account_id=staff.id).count() == 0
    again = _complete(client, token, "yet another password 99")
    assert again.status_code == 422 and "token" in again.get_json()["error"]["details"]
    assert (
        client.post("/api/v1/auth/token", json={"email": staff.email, "password": PASSWORD}).status_code
        == 401
    )
    api_login(client, staff.email, NEW_PASSWORD)


def test_unknown_address_gets_the_same_answer_and_no_mail(client):
    """Is an unknown address answered exactly like a known one, with the same write in the request, and
    no mail sent to it?"""
    portal = make_portal_account(client=make_client(email="known@example.org"))
    known, unknown = _ask(client, portal.email), _ask(client, "nobody@example.org")
    assert (known.status_code, known.get_json()) == (unknown.status_code, unknown.get_json())
    assert PasswordReset.objects.count() == 2  # one row per request, account or not
    assert _run_worker() == 2
    assert MailMessage.objects(direction="sink", to="nobody@example.org").count() == 0
    assert MailMessage.objects(direction="sink", to="known@example.org").count() == 1
    assert PasswordReset.objects.get(email="nobody@example.org").status == "no_account"

    page = client.post(
        "/password/forgot", data={"email": "nobody@example.org", "csrf_token": csrf_token(client)}
    )
    assert page.status_code == 200 and password_reset.ANSWER in page.get_data(as_text=True)


def test_link_expires_after_thirty_minutes(client):
    """Does a link stop working once 30 minutes have passed since it was mailed?"""
    staff = make_staff()
    _ask(client, staff.email)
    _run_worker()
    token = _mailed_token(staff.email)
    row = PasswordReset.objects.get(email=staff.email)
    assert timedelta(minutes=29) < row.expires_at - row.requested_at <= timedelta(minutes=31)
    PasswordReset.objects(id=row.id).update_one(set__expires_at=utcnow() - timedelta(seconds=1))
    assert _complete(client, token).status_code == 422
    assert client.get(f"/password/reset?token={token}").status_code == 410


def test_weak_password_keeps_the_link(client):
    """Is a too-weak password refused without using up the link?"""
    staff = make_staff()
    _ask(client, staff.email)
    _run_worker()
    token = _mailed_token(staff.email)
    weak = _complete(client, token, "short")
    assert weak.status_code == 422 and "password" in weak.get_json()["error"]["details"]
    assert _complete(client, token).status_code == 204


def test_requests_are_throttled_per_address_known_or_not(client):
    """Is the fourth request for one address within 15 minutes refused, for an unknown address as for
    a known one, and does another address still get through?"""
    staff = make_staff()
    for address in (staff.email, "ghost@example.org"):
        codes = [_ask(client, address).status_code for _ in range(4)]
        assert codes == [202, 202, 202, 429]
    assert _ask(client, "someone.else@example.org").status_code == 202


def test_staff_with_mfa_still_gives_the_code_after_a_reset(client):
    """After resetting on the page, is a staff member with MFA signed in only once they give their code?"""
    staff = make_staff(roles=("org_admin",))
    secret = enable_mfa(staff)
    client.post("/password/forgot", data={"email": staff.email, "csrf_token": csrf_token(client)})
    _run_worker()
    token = _mailed_token(staff.email)
    form = client.get(f"/password/reset?token={token}")
    assert form.status_code == 200 and "Choose a new password" in form.get_data(as_text=True)
    done = client.post(
        "/password/reset",
        data={
            "token": token,
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": csrf_token(client, f"/password/reset?token={token}"),
        },
    )
    assert done.status_code == 303 and done.headers["Location"].endswith("/mfa/verify")
    assert client.get("/api/v1/me").status_code == 401  # the code is still owed
    verify = client.post(
        "/mfa/verify", data={"code": totp_code(secret), "csrf_token": csrf_token(client, "/mfa/verify")}
    )
    assert verify.status_code in (302, 303)
    assert client.get("/api/v1/me").get_json()["email"] == staff.email


def test_sign_in_page_offers_forgot_password(client):
    """Does the sign-in page link to "Forgot password?"?"""
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/password/forgot"' in page and "Forgot password?" in page
